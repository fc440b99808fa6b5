import MerdDaemon
import ArgumentParser
import Foundation
import NeuralKit

/// `merd models fetch NAME`: downloads a public checkpoint into the models directory.
struct ModelsFetch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Download a public checkpoint from the HuggingFace hub into the models directory.",
        discussion: "Known names: " + ModelCatalog.entries.map { "\($0.name) (\($0.repository))" }.joined(separator: ", ")
            + ". Each model's licence is printed before anything is downloaded (w2v2-msp-dim's, CC BY-NC-SA 4.0, allows"
            + " non-commercial use only). Sizes are checked against the hub's listing; nothing is left behind on failure.")

    @Argument(help: "The model to fetch (e.g. hubert-large).")
    var name: String

    @OptionGroup var modelsOption: ModelsOption

    @Flag(help: "Replace the model if it is already there.")
    var force = false

    func run() async throws {
        guard let entry = ModelCatalog.entry(named: name) else {
            throw CommandFailure.usage("unknown model '\(name)'; known: \(ModelCatalog.entries.map(\.name).joined(separator: ", "))")
        }
        let root = URL(fileURLWithPath: modelsOption.directory)
        let target = root.appendingPathComponent(entry.name)
        if FileManager.default.fileExists(atPath: target.path) && !force {
            throw CommandFailure.usage("\(target.path) exists; pass --force to replace it")
        }
        let staging = root.appendingPathComponent(".\(entry.name).partial-\(ProcessInfo.processInfo.processIdentifier)")
        do {
            try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        } catch {
            throw CommandFailure.runtime("\(root.path): cannot create the models directory (\(error.localizedDescription))")
        }
        do {
            try await fetch(entry, into: staging)
            if FileManager.default.fileExists(atPath: target.path) { try FileManager.default.removeItem(at: target) }
            try FileManager.default.moveItem(at: staging, to: target)
        } catch {
            try? FileManager.default.removeItem(at: staging)
            if let failure = error as? CommandFailure { throw failure }
            if let hub = error as? HubError { throw CommandFailure.runtime(hub.description) }
            throw CommandFailure.runtime("\(target.path): \(error.localizedDescription)")
        }
        print("\(entry.name): \(entry.repository) → \(target.path) (licence \(entry.license)\(entry.isNonCommercial ? ", non-commercial use only" : ""))")
    }

    private func fetch(_ entry: CatalogEntry, into staging: URL) async throws {
        let hub = HubClient()
        // Before anything is downloaded, so that nobody fetches a model without being told its terms.
        writeError("merd: licence: \(entry.licenseNotice)")
        writeError("merd: listing \(entry.repository) on \(hub.endpoint.absoluteString)")
        let listing = try await hub.listing(of: entry.repository)
        let available = Dictionary(listing.siblings.map { ($0.rfilename, $0) }, uniquingKeysWith: { first, _ in first })
        for file in entry.requiredFiles where available[file] == nil {
            throw HubError.missingFile(repository: entry.repository, file: file, available: listing.siblings.map(\.rfilename))
        }
        let revision = listing.sha ?? "main"
        var files: [[String: Any]] = []
        for file in entry.requiredFiles + entry.optionalFiles.filter({ available[$0] != nil }) {
            let bytes = available[file]?.byteCount
            writeError("merd: downloading \(file)\(bytes.map { " (\($0) bytes)" } ?? "")")
            try await hub.download(file, of: entry.repository, revision: revision, expectedBytes: bytes,
                                   to: staging.appendingPathComponent(file))
            files.append(["name": file, "bytes": bytes ?? -1])
        }
        // A file of the right size can still be something else: the header must be safetensors.
        do {
            _ = try SafeTensorsFile(path: staging.appendingPathComponent("model.safetensors").path)
        } catch {
            throw CommandFailure.runtime("\(entry.repository): downloaded model.safetensors is not valid (\(error.description))")
        }
        let manifest: [String: Any] = [
            "kind": entry.kind, "name": entry.name, "source": "\(hub.endpoint.absoluteString)/\(entry.repository)",
            "revision": revision, "license": entry.license, "files": files,
        ]
        let data = try JSONSerialization.data(withJSONObject: manifest, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: staging.appendingPathComponent("model.json"))
    }
}
