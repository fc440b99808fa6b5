import EventServer
import Foundation
import Locking
import MerdEvents
import StreamEngine

/// SIGHUP (`systemctl reload merd`): the models directory's fusion model read again and put in
/// the running engine's place, so that a model `merd train` has just written decodes the next
/// utterance without a restart: the sources, the subscribers and the utterance being spoken
/// carry on. Subscribers then get a `fusion` status event, and those who connect later a
/// `hello` that names the new model. A model that is missing, broken (its files not what its
/// manifest records), or unable to run on what this run computes is refused with the reason,
/// and the running one decodes on. merd.toml and the other models apply at the next start.
final class FusionReload: Sendable {
    /// What a reload did.
    enum Outcome: Equatable, CustomStringConvertible {
        /// The model at `directory` decodes from now on.
        case replaced(directory: String, model: LoadedModel)
        /// The model there is the running one (the same weights' sha256).
        case unchanged(directory: String)
        /// No model there; the running one, if any, decodes on.
        case absent(directory: String, running: Bool)
        /// The model there cannot be used: why; the running one, if any, decodes on.
        case refused(directory: String, reason: String, running: Bool)

        var description: String {
            switch self {
            case .replaced(let directory, let model):
                return "fusion model reloaded from \(directory) (\(Self.describe(model)))"
            case .unchanged(let directory):
                return "the fusion model in \(directory) is the one running; nothing to reload"
            case .absent(let directory, let running):
                return "no fusion model in \(directory) (model.json); "
                    + (running ? "the running one decodes on" : "train one with `merd train … --install` (it writes beside the model and renames into place), then reload (SIGHUP: systemctl reload merd)")
            case .refused(let directory, let reason, let running):
                return "the fusion model in \(directory) is not used: \(reason); "
                    + (running ? "the running one decodes on" : "emotion and valence stay as they were")
            }
        }

        static func describe(_ model: LoadedModel) -> String {
            model.sha256.map { "sha256 \($0)" } ?? "no sha256 in its model.json"
        }
    }

    /// Where the fusion model is read from (the models directory's `fusion`).
    let directory: String
    private let engine: Engine
    private let server: EventServer
    private let sources: [String: String]
    private let run: String
    /// The models `hello` describes; only the fusion model changes. Held while a reload
    /// swaps, so that two reloads cannot interleave their hellos.
    private let models: Locked<EngineModels>

    init(directory: String, models: EngineModels, engine: Engine, server: EventServer, sources: [String: String], run: String) {
        self.directory = directory
        self.models = Locked(models)
        self.engine = engine
        self.server = server
        self.sources = sources
        self.run = run
    }

    /// Reads the model, and swaps it in when it can run here.
    func reload() -> Outcome {
        let running = engine.stages.fusion != nil
        guard FileManager.default.fileExists(atPath: directory + "/model.json") else { return .absent(directory: directory, running: running) }
        let fusion: FusionEnsemble
        let model: LoadedModel
        do { (fusion, model) = try EngineModels.fusionModel(at: directory) } catch {
            return .refused(directory: directory, reason: error.description, running: running)
        }
        let outcome = models.withLock { models -> Outcome in
            if running, let current = models.loaded.first(where: { $0.role == "fusion" })?.sha256, current == model.sha256 {
                return .unchanged(directory: directory)
            }
            do throws(FusionReplacementError) { try engine.replaceFusion(fusion) } catch {
                return .refused(directory: directory, reason: error.description, running: running)
            }
            models.fusion = fusion
            models.loaded.removeAll { $0.role == "fusion" }
            models.loaded.append(model)
            server.replaceHello(Event.hello(models.hello(sources: sources, stages: engine.stages, run: run)).jsonLine())
            return .replaced(directory: directory, model: model)
        }
        if case .replaced = outcome {
            engine.emit(engine.status("fusion", .running, "reloaded from \(directory) (\(Outcome.describe(model)))"))
        }
        return outcome
    }

    /// `reload()` on a thread of the global queue: reading and hashing files blocks.
    func runOffPool() async -> Outcome {
        await withCheckedContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async { continuation.resume(returning: self.reload()) }
        }
    }
}
