import Foundation
import NeuralKit
import StreamEngine

/// Installs a catalogue entry into a models directory, all or nothing: the files go into a
/// staging folder beside the target, each is checked against its pin (its length, the sha256
/// the hub lists, or its git blob id at the pinned commit), the model is loaded as the daemon
/// will load it, `model.json` records what was installed (source, revision, licence, each
/// file's length and sha256), and only then does the folder take the model's name. A failure
/// at any step leaves the models directory as it was.
public struct ModelFetcher: Sendable {
    public let hub: HubClient
    public let gitHub: GitHubRawClient
    /// Progress lines (`listing …`, `downloading …`), for the command to print.
    let say: @Sendable (String) -> Void

    public init(environment: [String: String] = ProcessInfo.processInfo.environment, say: @escaping @Sendable (String) -> Void) {
        hub = HubClient(environment: environment)
        gitHub = GitHubRawClient(environment: environment)
        self.say = say
    }

    /// Installs `entry` as `root/<entry.name>`, replacing an installed one only with
    /// `replacing`. Returns the installed folder.
    @discardableResult
    public func install(_ entry: CatalogEntry, in root: URL, replacing: Bool = false) async throws(ModelFetchError) -> URL {
        let target = root.appendingPathComponent(entry.name)
        if FileManager.default.fileExists(atPath: target.path) && !replacing { throw .exists(path: target.path) }
        let staging = root.appendingPathComponent(".\(entry.name).partial-\(ProcessInfo.processInfo.processIdentifier)")
        do {
            try? FileManager.default.removeItem(at: staging)
            try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        } catch {
            throw .cannotWrite(path: root.path, reason: error.localizedDescription)
        }
        do {
            // Before anything is downloaded, so that nobody fetches a model without being told its terms.
            say("licence: \(entry.licenseNotice)")
            var (manifest, files) = try await download(entry, into: staging)
            for index in files.indices where files[index]["sha256"] == nil {
                files[index]["sha256"] = try sha256(staging.appendingPathComponent(files[index]["name"] as! String))
            }
            manifest["files"] = files
            say("checking that \(entry.name) loads")
            try Self.checkLoads(entry, directory: staging.path)
            let data = try JSONSerialization.data(withJSONObject: manifest, options: [.prettyPrinted, .sortedKeys])
            try data.write(to: staging.appendingPathComponent("model.json"))
            if FileManager.default.fileExists(atPath: target.path) { try FileManager.default.removeItem(at: target) }
            try FileManager.default.moveItem(at: staging, to: target)
        } catch {
            try? FileManager.default.removeItem(at: staging)
            if let failure = error as? ModelFetchError { throw failure }
            throw .cannotWrite(path: target.path, reason: error.localizedDescription)
        }
        return target
    }

    /// Downloads `entry`'s files into `staging`: the manifest without its `files`, and the
    /// files' entries (with their sha256 where a pin needed it).
    private func download(_ entry: CatalogEntry, into staging: URL) async throws(ModelFetchError)
        -> (manifest: [String: Any], files: [[String: Any]])
    {
        var files: [[String: Any]] = []
        var manifest: [String: Any] = ["kind": entry.kind, "name": entry.name, "license": entry.license]
        do {
            switch entry.host {
            case .huggingFace(let weights):
                say("listing \(entry.repository) on \(hub.endpoint.absoluteString)")
                let listing = try await hub.listing(of: entry.repository)
                let available = Dictionary(listing.siblings.map { ($0.rfilename, $0) }, uniquingKeysWith: { first, _ in first })
                let names = listing.siblings.map(\.rfilename)
                for file in entry.requiredFiles where available[file] == nil {
                    throw ModelDownloadError.missingFile(repository: entry.repository, files: [file], available: names)
                }
                guard let weightFile = weights.first(where: { available[$0] != nil }) else {
                    throw ModelDownloadError.missingFile(repository: entry.repository, files: weights, available: names)
                }
                let revision = listing.sha ?? "main"
                for file in [weightFile] + entry.requiredFiles + entry.optionalFiles.filter({ available[$0] != nil }) {
                    let sibling = available[file]!
                    say("downloading \(file)\(sibling.byteCount.map { " (\($0) bytes)" } ?? "")")
                    let destination = staging.appendingPathComponent(file)
                    try await hub.download(file, of: entry.repository, revision: revision, expectedBytes: sibling.byteCount, to: destination)
                    var record: [String: Any] = ["name": file, "bytes": sibling.byteCount ?? -1]
                    if let pinned = sibling.sha256 {
                        let received = try sha256(destination)
                        if received != pinned {
                            throw ModelDownloadError.contentMismatch(file: file, pin: "sha256", expected: pinned, received: received,
                                                                     source: "the hub's listing of \(entry.repository)")
                        }
                        record["sha256"] = received
                    }
                    files.append(record)
                }
                manifest["source"] = "\(hub.endpoint.absoluteString)/\(entry.repository)"
                manifest["revision"] = revision
            case .gitHub(let commit, let pinned, let configuration):
                for file in pinned {
                    say("downloading \(file.path) of \(entry.repository) at \(commit.prefix(7)) from \(gitHub.endpoint.absoluteString)")
                    let destination = staging.appendingPathComponent(file.installedAs)
                    try await gitHub.download(file.path, of: entry.repository, commit: commit, to: destination)
                    let received = try gitBlobID(destination)
                    if received != file.gitBlobID {
                        throw ModelDownloadError.contentMismatch(file: file.path, pin: "git blob id", expected: file.gitBlobID, received: received,
                                                                 source: "\(entry.repository) at \(commit.prefix(7))")
                    }
                    let bytes = (try? FileManager.default.attributesOfItem(atPath: destination.path)[.size] as? Int) ?? -1
                    files.append(["name": file.installedAs, "bytes": bytes, "path": file.path, "git_blob": file.gitBlobID])
                }
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                try encoder.encode(configuration).write(to: staging.appendingPathComponent("config.json"))
                manifest["source"] = "https://github.com/\(entry.repository)"
                manifest["revision"] = commit
            }
        } catch let error as ModelDownloadError {
            throw .download(error)
        } catch let error as ModelFetchError {
            throw error
        } catch {
            throw .cannotWrite(path: staging.path, reason: error.localizedDescription)
        }
        return (manifest, files)
    }

    private func sha256(_ file: URL) throws(ModelFetchError) -> String {
        do { return try ContentDigest.sha256(ofFile: file.path) } catch { throw .cannotWrite(path: file.path, reason: error.description) }
    }

    private func gitBlobID(_ file: URL) throws(ModelFetchError) -> String {
        do { return try ContentDigest.gitBlobID(ofFile: file.path) } catch { throw .cannotWrite(path: file.path, reason: error.description) }
    }

    /// Loads the model in `directory` as the daemon would: a file of the right size and hash
    /// can still be a model merd cannot run (an unexpected architecture, a new format).
    static func checkLoads(_ entry: CatalogEntry, directory: String) throws(ModelFetchError) {
        do {
            switch entry.kind {
            case "hubert":
                _ = try HuBERT(directory: directory)
            case "speech-emotion":
                _ = try SpeechEmotionModel(directory: directory)
            case "face-encoder":
                guard let known = KnownFaceEncoder.all.first(where: { $0.folder == entry.name }) else {
                    preconditionFailure("catalogue entry \(entry.name) is a face encoder merd does not know")
                }
                _ = try known.load(ModelWeights.path(in: directory))
            default:
                preconditionFailure("catalogue entry \(entry.name) has unknown kind \(entry.kind)")
            }
        } catch {
            throw .doesNotLoad(name: entry.name, reason: "\(error)")
        }
    }
}

/// Why `merd models fetch` installed nothing.
public enum ModelFetchError: Error, CustomStringConvertible {
    /// The model is installed already (replace it with `--force`).
    case exists(path: String)
    case download(ModelDownloadError)
    /// Downloaded and checked, but merd cannot load it.
    case doesNotLoad(name: String, reason: String)
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case .exists(let path): return "\(path) exists; pass --force to replace it"
        case .download(let error): return error.description
        case .doesNotLoad(let name, let reason): return "\(name): downloaded, but merd cannot load it (\(reason)); nothing was installed"
        case .cannotWrite(let path, let reason): return "\(path): cannot write (\(reason))"
        }
    }
}
