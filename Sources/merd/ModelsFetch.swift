import MerdDaemon
import ArgumentParser
import Foundation

/// `merd models fetch NAME`: downloads a public checkpoint into the models directory.
struct ModelsFetch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Download a public model (HuggingFace hub, or GitHub at a pinned commit) into the models directory.",
        discussion: "Known names: " + ModelCatalog.entries.map { "\($0.name) (\($0.repository))" }.joined(separator: ", ")
            + ". Each model's licence is printed before anything is downloaded (w2v2-msp-dim's, CC BY-NC-SA 4.0, allows"
            + " non-commercial use only). Every file is checked against its pin (length and sha256 from the hub's listing;"
            + " the git blob id at the pinned commit for GitHub), the model is loaded once as merd will load it, and"
            + " model.json records each file's sha256. Nothing is left behind on failure. HF_ENDPOINT and"
            + " MERD_GITHUB_RAW_ENDPOINT point at mirrors.")

    @Argument(help: "The model to fetch (e.g. hubert-large, emotiefflib-enet-b0-va).")
    var name: String

    @OptionGroup var modelsOption: ModelsOption

    @Flag(help: "Replace the model if it is already there.")
    var force = false

    func run() async throws {
        guard let entry = ModelCatalog.entry(named: name) else {
            throw CommandFailure.usage("unknown model '\(name)'; known: \(ModelCatalog.entries.map(\.name).joined(separator: ", "))")
        }
        let fetcher = ModelFetcher { writeError("merd: \($0)") }
        let target: URL
        do {
            target = try await fetcher.install(entry, in: URL(fileURLWithPath: modelsOption.directory), replacing: force)
        } catch .exists(let path) {
            throw CommandFailure.usage("\(path) exists; pass --force to replace it")
        } catch {
            throw CommandFailure.runtime(error.description)
        }
        print("\(entry.name): \(entry.repository) → \(target.path) (licence \(entry.license)\(entry.isNonCommercial ? ", non-commercial use only" : ""))")
    }
}
