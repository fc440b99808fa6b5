import Foundation
import NeuralKit
import TestSupport
import Testing

/// `merd models fetch` against a local server in the hub's URL layout, serving the tiny
/// HuBERT fixture as if it were facebook/hubert-large-ll60k.
@Suite("merd models fetch", .serialized)
struct ModelsFetchTests {
    static let fixture = URL(fileURLWithPath: TestPaths.fixture("hubert/large"))
    static let repository = "facebook/hubert-large-ll60k"
    static let commit = "0123456789abcdef"

    static func file(_ name: String) throws -> Data { try Data(contentsOf: fixture.appendingPathComponent(name)) }

    /// The hub's routes for the fixture; `change` adjusts them per test.
    static func routes(_ change: (inout [String: LocalHTTPServer.Response], inout [[String: Any]]) throws -> Void = { _, _ in })
        throws -> [String: LocalHTTPServer.Response]
    {
        var routes: [String: LocalHTTPServer.Response] = [:]
        var siblings: [[String: Any]] = [["rfilename": "README.md", "size": 5]]
        for name in ["config.json", "preprocessor_config.json", "model.safetensors"] {
            let data = try file(name)
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
        #expect(offline.stderr.split(separator: "\n").filter { !$0.hasPrefix("merd: listing") }.count == 1)

        let server = try LocalHTTPServer(routes: [:])
        defer { server.stop() }
        let missing = try run(server, models: models, "chinese-hubert-large")
        #expect(missing.status == 1 && missing.stderr.contains("HTTP 404"), "\(missing.stderr)")

        let unknown = try run(server, models: models, "hubert-gigantic")
        #expect(unknown.status == 2 && unknown.stderr.contains("known: hubert-large"))
    }
}
