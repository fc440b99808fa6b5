import Foundation
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
            siblings.append(name == "model.safetensors" ? ["rfilename": name, "lfs": ["size": data.count]] : ["rfilename": name, "size": data.count])
        }
        try change(&routes, &siblings)
        let listing: [String: Any] = ["id": repository, "sha": commit, "siblings": siblings]
        routes["/api/models/\(repository)"] = .init(body: try JSONSerialization.data(withJSONObject: listing))
        return routes
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

    @Test("a checkpoint without safetensors says how to convert it")
    func noSafetensors() throws {
        let server = try LocalHTTPServer(routes: Self.routes { _, siblings in
            siblings.removeAll { $0["rfilename"] as? String == "model.safetensors" }
            siblings.append(["rfilename": "pytorch_model.bin", "size": 10])
        })
        defer { server.stop() }
        let models = scratch()
        defer { try? FileManager.default.removeItem(atPath: models) }
        let result = try run(server, models: models, "hubert-large")
        #expect(result.status == 1 && result.stderr.contains("tools/convert_to_safetensors.py"), "\(result.stderr)")
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
