import Foundation
import MerdDaemon
import NeuralKit
import StreamEngine
import TestSupport
import Testing

/// `merd models fetch` against a local server in the hub's URL layout, serving the tiny
/// HuBERT fixture as if it were facebook/hubert-large-ll60k.
@Suite("merd models fetch", .serialized)
struct ModelsFetchTests {
    static let fixture = URL(fileURLWithPath: TestPaths.fixture("hubert/large"))
    static let repository = "facebook/hubert-large-ll60k"
    static let commit = "0123456789abcdef"

    static func file(_ name: String, in fixture: URL = fixture) throws -> Data { try Data(contentsOf: fixture.appendingPathComponent(name)) }

    /// The hub's routes for `fixture`'s `files` served as `repository`; `change` adjusts them per test.
    static func routes(repository: String = repository, fixture: URL = fixture,
                       files: [String: Data] = [:],
                       _ change: (inout [String: LocalHTTPServer.Response], inout [[String: Any]]) throws -> Void = { _, _ in })
        throws -> [String: LocalHTTPServer.Response]
    {
        var routes: [String: LocalHTTPServer.Response] = [:]
        var siblings: [[String: Any]] = [["rfilename": "README.md", "size": 5]]
        var served = files
        for name in ["config.json", "preprocessor_config.json", "model.safetensors"] where served[name] == nil {
            served[name] = try file(name, in: fixture)
        }
        for (name, data) in served.sorted(by: { $0.key < $1.key }) {
            routes["/\(repository)/resolve/\(commit)/\(name)"] = .init(body: data)
            siblings.append(name == "model.safetensors" || name == "pytorch_model.bin"
                            ? ["rfilename": name, "lfs": ["size": data.count, "sha256": try sha256(of: data)]]
                            : ["rfilename": name, "size": data.count])
        }
        try change(&routes, &siblings)
        let listing: [String: Any] = ["id": repository, "sha": commit, "siblings": siblings]
        routes["/api/models/\(repository)"] = .init(body: try JSONSerialization.data(withJSONObject: listing))
        return routes
    }

    static func manifest(_ directory: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/model.json"))) as? [String: Any])
    }

    /// coreutils' sha256sum of a file: the tests check merd's digests against another program's.
    static func sha256sum(_ path: String) throws -> String {
        let output = try ProcessOutput.run("/usr/bin/sha256sum", [path])
        return String(output.split(separator: " ").first ?? "")
    }

    static func sha256(of data: Data) throws -> String {
        let path = NSTemporaryDirectory() + "merd-sha-\(UUID().uuidString)"
        try data.write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try sha256sum(path)
    }

    func run(_ server: LocalHTTPServer?, models: String, _ arguments: String...) throws -> (status: Int32, stdout: String, stderr: String) {
        let endpoint = server?.url.absoluteString ?? "http://127.0.0.1:9"  // port 9 (discard): nothing listens
        return try MerdProcess.run(["models", "fetch"] + arguments + ["--models", models], environment: ["HF_ENDPOINT": endpoint])
    }

    func scratch() -> String { NSTemporaryDirectory() + "merd-models-\(UUID().uuidString)" }

    @Test("downloads every file, checks it, writes a manifest, and the model loads")
    func success() throws {
        let server = try LocalHTTPServer(routes: Self.routes())
        defer { server.stop() }
        let models = scratch()
        defer { try? FileManager.default.removeItem(atPath: models) }
        let result = try run(server, models: models, "hubert-large")
        #expect(result.status == 0, "\(result.stderr)")
        let directory = models + "/hubert-large"
        for name in ["config.json", "preprocessor_config.json", "model.safetensors"] {
            #expect(FileManager.default.contents(atPath: directory + "/" + name) == (try Self.file(name)), "\(name)")
        }
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/model.json"))) as! [String: Any]
        #expect(manifest["revision"] as? String == Self.commit && manifest["kind"] as? String == "hubert")
        #expect(server.requestedPaths.contains("/\(Self.repository)/resolve/\(Self.commit)/model.safetensors"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: models) == ["hubert-large"], "no staging left")

        let again = try run(server, models: models, "hubert-large")
        #expect(again.status == 2 && again.stderr.contains("--force"))
        #expect(try run(server, models: models, "hubert-large", "--force").status == 0)
    }

    @Test("a short download is caught by its size, and nothing is left behind")
    func truncated() throws {
        let server = try LocalHTTPServer(routes: Self.routes { routes, _ in
            let path = "/\(Self.repository)/resolve/\(Self.commit)/model.safetensors"
            routes[path]!.body = routes[path]!.body.prefix(1000)
        })
        defer { server.stop() }
        let models = scratch()
        defer { try? FileManager.default.removeItem(atPath: models) }
        let result = try run(server, models: models, "hubert-large")
        #expect(result.status == 1)
        #expect(result.stderr.contains("model.safetensors") && result.stderr.contains("received 1000 bytes"), "\(result.stderr)")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: models)) ?? []).isEmpty)
    }

    @Test("the hub's redirect to its CDN is followed; a connection that ends before its declared length is an interrupted download; a redirect out of HTTP is refused")
    func transfers() throws {
        let path = "/\(Self.repository)/resolve/\(Self.commit)/model.safetensors"
        let weights = try Self.file("model.safetensors")
        // As huggingface.co answers /resolve/ with a 302 to its CDN.
        let cdn = "/cdn-lfs/0123/model.safetensors"
        let redirected = try LocalHTTPServer(routes: Self.routes { routes, _ in
            routes[cdn] = routes[path]
            routes[path] = .init(status: 302, body: Data("Found".utf8), location: cdn)
        })
        defer { redirected.stop() }
        let models = scratch()
        defer { try? FileManager.default.removeItem(atPath: models) }
        let result = try run(redirected, models: models, "hubert-large")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(redirected.requestedPaths.contains(cdn))
        #expect(FileManager.default.contents(atPath: models + "/hubert-large/model.safetensors") == weights)

        // The server declares the whole length, sends 1000 bytes and closes.
        let cut = try LocalHTTPServer(routes: Self.routes { routes, _ in
            routes[path]!.declaredLength = weights.count
            routes[path]!.body = weights.prefix(1000)
        })
        defer { cut.stop() }
        let interrupted = try run(cut, models: models, "hubert-large", "--force")
        #expect(interrupted.status == 1)
        #expect(interrupted.stderr.contains("model.safetensors: received 1000 bytes, the host lists \(weights.count) (an interrupted download"),
                "\(interrupted.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: models) == ["hubert-large"], "no staging or part file left")
        #expect(FileManager.default.contents(atPath: models + "/hubert-large/model.safetensors") == weights, "the installed model is untouched")

        // A redirect to another scheme (a file on this machine) is not followed.
        let local = try LocalHTTPServer(routes: Self.routes { routes, _ in
            routes[path] = .init(status: 302, body: Data(), location: "file:///etc/passwd")
        })
        defer { local.stop() }
        let refused = try run(local, models: models, "hubert-large", "--force")
        #expect(refused.status == 1 && refused.stderr.contains("\"file\" not supported"), "\(refused.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: models) == ["hubert-large"])
    }

    @Test("libcurl is opened only to download: merd --version loads none of it, a fetch opens it, and a broken libcurl is one line that names it")
    func curlOnFirstUse() throws {
        let version = try FFmpegLoadingCommandTests.traced(["--version"])
        #expect(version.status == 0)
        // The trace is there (Swift's runtime, linked), so an absent libcurl line means something.
        #expect(version.trace.contains("file=libswiftCore.so"), "\(version.trace.prefix(400))")
        #expect(!version.trace.contains("file=libcurl"), "libcurl loaded by merd --version")
        #expect(!version.trace.contains("file=libFoundationNetworking"), "URLSession's library loaded by merd --version")

        let server = try LocalHTTPServer(routes: Self.routes())
        defer { server.stop() }
        let models = scratch()
        defer { try? FileManager.default.removeItem(atPath: models) }
        let fetch = try FFmpegLoadingCommandTests.traced(["models", "fetch", "hubert-large", "--models", models],
                                                         environment: ["HF_ENDPOINT": server.url.absoluteString])
        #expect(fetch.status == 0)
        #expect(fetch.trace.contains("file=libcurl.so.4 [0];  dynamically loaded by"), "libcurl not opened by merd models fetch")

        // A damaged libcurl, found first on the library path.
        let directory = NSTemporaryDirectory() + "merd-curl-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(FileManager.default.createFile(atPath: directory + "/libcurl.so.4", contents: Data()))
        let other = scratch()
        defer { try? FileManager.default.removeItem(atPath: other) }
        let broken = try MerdProcess.run(["models", "fetch", "hubert-large", "--models", other],
                                         environment: ["HF_ENDPOINT": server.url.absoluteString, "LD_LIBRARY_PATH": directory])
        #expect(broken.status == 1)
        #expect(broken.stderr.contains("libcurl.so.4 could not be opened") && broken.stderr.contains("file too short")
                && broken.stderr.contains("apt-get install --reinstall libcurl4"), "\(broken.stderr)")
        #expect(broken.stderr.split(separator: "\n").filter { !$0.hasPrefix("merd: listing") && !$0.hasPrefix("merd: licence") }.count == 1,
                "one line: \(broken.stderr)")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: other)) ?? []).isEmpty, "nothing installed")
    }

    @Test("a transfer stops when its task is cancelled, not when the stalled host answers")
    func cancelled() async throws {
        let server = try LocalHTTPServer(routes: ["/api/models/org/stalled": .init(body: Data("{}".utf8), delay: 6)])
        defer { server.stop() }
        let hub = HubClient(environment: ["HF_ENDPOINT": server.url.absoluteString])
        let started = ContinuousClock.now
        let task = Task { try await hub.listing(of: "org/stalled") }
        try await Task.sleep(for: .milliseconds(300))
        task.cancel()
        let result = await task.result
        guard case .failure(let error) = result, case .cancelled? = error as? ModelDownloadError else {
            Issue.record("expected a cancelled download, got \(result)")
            return
        }
        #expect(error.localizedDescription.isEmpty == false && "\(error)".contains("cancelled"))
        // libcurl asks whether to go on at least once a second; the host would answer after 6.
        #expect(ContinuousClock.now - started < .seconds(4))
    }

    @Test("a repository publishing pytorch_model.bin only (as chinese-hubert-large does): installed as published, and it loads")
    func pytorchOnly() throws {
        let repository = "TencentGameMate/chinese-hubert-large"
        let weights = try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("torch/hubert-large/pytorch_model.bin")))
        let server = try LocalHTTPServer(routes: Self.routes(repository: repository, files: ["pytorch_model.bin": weights]) { routes, siblings in
            siblings.removeAll { $0["rfilename"] as? String == "model.safetensors" }
            routes.removeValue(forKey: "/\(repository)/resolve/\(Self.commit)/model.safetensors")
        })
        defer { server.stop() }
        let models = scratch()
        defer { try? FileManager.default.removeItem(atPath: models) }
        let result = try run(server, models: models, "chinese-hubert-large")
        #expect(result.status == 0, "\(result.stderr)")
        let directory = models + "/chinese-hubert-large"
        #expect(FileManager.default.contents(atPath: directory + "/pytorch_model.bin") == weights)
        #expect(!FileManager.default.fileExists(atPath: directory + "/model.safetensors"))
        let manifest = try Self.manifest(directory)
        let files = try #require(manifest["files"] as? [[String: Any]])
        let entry = try #require(files.first { $0["name"] as? String == "pytorch_model.bin" })
        #expect(entry["sha256"] as? String == (try Self.sha256sum(directory + "/pytorch_model.bin")) && entry["bytes"] as? Int == weights.count)
        #expect(try HuBERT(directory: directory).hiddenLayers > 0)

        // Neither weight file: the error names both.
        let bare = try LocalHTTPServer(routes: Self.routes(repository: repository) { _, siblings in
            siblings.removeAll { $0["rfilename"] as? String == "model.safetensors" }
        })
        defer { bare.stop() }
        let missing = try run(bare, models: models, "chinese-hubert-large", "--force")
        #expect(missing.status == 1 && missing.stderr.contains("has no model.safetensors or pytorch_model.bin"), "\(missing.stderr)")
        #expect(FileManager.default.contents(atPath: directory + "/pytorch_model.bin") == weights, "the installed model is untouched")
    }

    @Test("a file whose content differs from the sha256 the hub lists is refused, and nothing is installed")
    func sha256Pin() throws {
        let server = try LocalHTTPServer(routes: Self.routes { routes, siblings in
            let path = "/\(Self.repository)/resolve/\(Self.commit)/model.safetensors"
            var body = routes[path]!.body
            body[body.count - 1] ^= 0x01  // same length, one bit changed
            routes[path]!.body = body
            _ = siblings
        })
        defer { server.stop() }
        let models = scratch()
        defer { try? FileManager.default.removeItem(atPath: models) }
        let result = try run(server, models: models, "hubert-large")
        #expect(result.status == 1 && result.stderr.contains("model.safetensors: its sha256 is")
                && result.stderr.contains("not the published file"), "\(result.stderr)")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: models)) ?? []).isEmpty)
    }

    /// Where raw.githubusercontent.com serves EmotiEffLib's B0 model at the pinned commit.
    static let emotiEffLibPath = "/sb-ai-lab/EmotiEffLib/f1df0e8548c666d268826e50b7de107fd5553e9d/models/affectnet_emotions/enet_b0_8_va_mtl.pt"
    static let emotiEffLibFixture = TestPaths.fixture("torch/emotiefflib_enet_b0_va.pt")

    @Test("emotiefflib-enet-b0-va: after the licence, a file that is not the pinned git blob is refused and nothing is installed; offline and 404 say so")
    func emotiEffLibPin() throws {
        let weights = try Data(contentsOf: URL(fileURLWithPath: Self.emotiEffLibFixture))
        let server = try LocalHTTPServer(routes: [Self.emotiEffLibPath: .init(body: weights)])
        defer { server.stop() }
        let models = scratch()
        defer { try? FileManager.default.removeItem(atPath: models) }
        func fetch(_ endpoint: String) throws -> (status: Int32, stdout: String, stderr: String) {
            try MerdProcess.run(["models", "fetch", "emotiefflib-enet-b0-va", "--models", models], environment: ["MERD_GITHUB_RAW_ENDPOINT": endpoint])
        }
        let result = try fetch(server.url.absoluteString)
        let blob = try ProcessOutput.run("/usr/bin/git", ["hash-object", Self.emotiEffLibFixture]).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("merd: licence: emotiefflib-enet-b0-va is licensed apache-2.0 (see https://github.com/sb-ai-lab/EmotiEffLib/tree/f1df0e8"),
                "\(result.stderr)")
        #expect(result.stderr.contains("enet_b0_8_va_mtl.pt: its git blob id is \(blob)")
                && result.stderr.contains("says b7223bd1ab092a1b5a42bc04a5f4fbfe4d9f8b9b"), "\(result.stderr)")
        #expect(server.requestedPaths == [Self.emotiEffLibPath])
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: models)) ?? []).isEmpty)

        let offline = try fetch("http://127.0.0.1:9")
        #expect(offline.status == 1 && offline.stderr.contains("cannot reach") && offline.stderr.contains("MERD_GITHUB_RAW_ENDPOINT"), "\(offline.stderr)")
        let empty = try LocalHTTPServer(routes: [:])
        defer { empty.stop() }
        let missing = try fetch(empty.url.absoluteString)
        #expect(missing.status == 1 && missing.stderr.contains("HTTP 404"), "\(missing.stderr)")
    }

    @Test("a face model pinned on GitHub: fetched at its commit, checked against the blob id git computes, installed with timm's config.json and a manifest; it loads as the face pipeline loads it")
    func emotiEffLibInstall() async throws {
        let weights = try Data(contentsOf: URL(fileURLWithPath: Self.emotiEffLibFixture))
        let server = try LocalHTTPServer(routes: [Self.emotiEffLibPath: .init(body: weights)])
        defer { server.stop() }
        let models = scratch()
        defer { try? FileManager.default.removeItem(atPath: models) }
        // The catalogue's entry with the pin moved to the fixture's blob (git's own hash-object).
        let blob = try ProcessOutput.run("/usr/bin/git", ["hash-object", Self.emotiEffLibFixture]).trimmingCharacters(in: .whitespacesAndNewlines)
        let published = try #require(ModelCatalog.entry(named: "emotiefflib-enet-b0-va"))
        guard case .gitHub(let commit, let files, let configuration) = published.host else { Issue.record("not a GitHub entry"); return }
        let entry = CatalogEntry(name: published.name, repository: published.repository,
                                 host: .gitHub(commit: commit, files: [PinnedFile(path: files[0].path, gitBlobID: blob, installedAs: files[0].installedAs)],
                                               configuration: configuration),
                                 kind: published.kind, license: published.license, summary: published.summary)
        let fetcher = ModelFetcher(environment: ["MERD_GITHUB_RAW_ENDPOINT": server.url.absoluteString]) { _ in }
        let folder = try await fetcher.install(entry, in: URL(fileURLWithPath: models))
        #expect(folder.path == models + "/emotiefflib-enet-b0-va")
        #expect(FileManager.default.contents(atPath: folder.path + "/model.pt") == weights)
        let written = try JSONDecoder().decode(TimmConfiguration.self, from: Data(contentsOf: folder.appendingPathComponent("config.json")))
        #expect(written == configuration && written.architecture == "tf_efficientnet_b0" && written.classCount == 10)
        let manifest = try Self.manifest(folder.path)
        #expect(manifest["revision"] as? String == commit && manifest["license"] as? String == "apache-2.0" && manifest["kind"] as? String == "face-encoder")
        let file = try #require((manifest["files"] as? [[String: Any]])?.first)
        #expect(file["name"] as? String == "model.pt" && file["git_blob"] as? String == blob && file["bytes"] as? Int == weights.count)
        #expect(file["sha256"] as? String == (try Self.sha256sum(folder.path + "/model.pt")))

        let known = try #require(KnownFaceEncoder.all.first { $0.folder == "emotiefflib-enet-b0-va" })
        let encoder = try known.load(ModelWeights.path(in: folder.path))
        #expect(encoder.featureName == "EN" && encoder.embeddingSize == 128 && encoder.affectScale == -1...1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: models) == ["emotiefflib-enet-b0-va"], "no staging left")
        await #expect(throws: ModelFetchError.self) { try await fetcher.install(entry, in: URL(fileURLWithPath: models)) }
    }

    @Test("an unreachable hub, an HTTP error and an unknown name: one line each")
    func failures() throws {
        let models = scratch()
        defer { try? FileManager.default.removeItem(atPath: models) }
        let offline = try run(nil, models: models, "hubert-large")
        #expect(offline.status == 1 && offline.stderr.contains("cannot reach") && offline.stderr.contains("HF_ENDPOINT"), "\(offline.stderr)")
        #expect(offline.stderr.split(separator: "\n").filter { !$0.hasPrefix("merd: listing") && !$0.hasPrefix("merd: licence") }.count == 1)

        let server = try LocalHTTPServer(routes: [:])
        defer { server.stop() }
        let missing = try run(server, models: models, "chinese-hubert-large")
        #expect(missing.status == 1 && missing.stderr.contains("HTTP 404"), "\(missing.stderr)")

        let unknown = try run(server, models: models, "hubert-gigantic")
        #expect(unknown.status == 2 && unknown.stderr.contains("known: hubert-large"))
    }

    @Test("w2v2-msp-dim: says plainly that the licence is non-commercial before downloading, and the model loads")
    func speechEmotion() throws {
        let repository = "audeering/wav2vec2-large-robust-12-ft-emotion-msp-dim"
        let fixture = URL(fileURLWithPath: TestPaths.fixture("speech-emotion/tiny"))
        let license = Data("Attribution-NonCommercial-ShareAlike 4.0 International\n".utf8)
        let server = try LocalHTTPServer(routes: Self.routes(repository: repository, fixture: fixture, files: ["LICENSE": license]))
        defer { server.stop() }
        let models = scratch()
        defer { try? FileManager.default.removeItem(atPath: models) }
        let result = try run(server, models: models, "w2v2-msp-dim")
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stderr.split(separator: "\n").map(String.init)
        let notice = try #require(lines.firstIndex { $0.hasPrefix("merd: licence:") }, "\(result.stderr)")
        #expect(lines[notice].contains("cc-by-nc-sa-4.0") && lines[notice].contains("NON-COMMERCIAL")
                && lines[notice].contains("non-commercial purposes only"), "\(lines[notice])")
        let firstDownload = try #require(lines.firstIndex { $0.hasPrefix("merd: downloading") })
        #expect(notice < firstDownload, "the licence comes before any download")
        #expect(result.stdout.contains("non-commercial use only"), "\(result.stdout)")

        let directory = models + "/w2v2-msp-dim"
        for name in ["config.json", "preprocessor_config.json", "model.safetensors"] {
            #expect(FileManager.default.contents(atPath: directory + "/" + name) == (try Self.file(name, in: fixture)), "\(name)")
        }
        #expect(FileManager.default.contents(atPath: directory + "/LICENSE") == license)
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/model.json"))) as! [String: Any]
        #expect(manifest["kind"] as? String == "speech-emotion" && manifest["license"] as? String == "cc-by-nc-sa-4.0")
        #expect(server.requestedPaths.contains("/\(repository)/resolve/\(Self.commit)/preprocessor_config.json"))
        let model = try SpeechEmotionModel(directory: directory)
        #expect(model.outputOrder == .init(arousal: 0, dominance: 1, valence: 2))

        // The processor's settings decide the input's normalisation: without them, no download.
        let incomplete = try LocalHTTPServer(routes: Self.routes(repository: repository, fixture: fixture) { _, siblings in
            siblings.removeAll { $0["rfilename"] as? String == "preprocessor_config.json" }
        })
        defer { incomplete.stop() }
        let missing = try run(incomplete, models: models, "w2v2-msp-dim", "--force")
        #expect(missing.status == 1 && missing.stderr.contains("has no preprocessor_config.json"), "\(missing.stderr)")
        #expect(missing.stderr.contains("NON-COMMERCIAL"))
    }

    @Test("a permissive licence is printed without the non-commercial warning")
    func permissiveLicense() throws {
        let server = try LocalHTTPServer(routes: Self.routes())
        defer { server.stop() }
        let models = scratch()
        defer { try? FileManager.default.removeItem(atPath: models) }
        let result = try run(server, models: models, "hubert-large")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("merd: licence: hubert-large is licensed apache-2.0") && !result.stderr.contains("NON-COMMERCIAL"),
                "\(result.stderr)")
    }
}
