import Foundation
import StreamEngine

/// Puts a trained model where `merd run` and `merd analyze` look: `<models>/fusion`, written
/// beside it first and renamed into place, the model before kept as `fusion.previous`.
enum FusionInstall {
    static func install(_ ensemble: FusionEnsemble, models: String, metadata: [String: String], training: FusionTrainingRecord?,
                        digest: (String) -> String?) throws -> (path: String, previous: String?) {
        let manager = FileManager.default
        let target = models + "/fusion", previous = models + "/fusion.previous"
        let staging = models + "/.fusion.installing-\(getpid())"
        try? manager.removeItem(atPath: staging)
        do throws(FusionError) { try FusionModelFile.save(ensemble, to: staging, metadata: metadata, training: training, digest: digest) } catch {
            throw CommandFailure.runtime(error.description)
        }
        var kept: String?
        do {
            if manager.fileExists(atPath: target) {
                if manager.fileExists(atPath: previous) { try manager.removeItem(atPath: previous) }
                try manager.moveItem(atPath: target, toPath: previous)
                kept = previous
            }
            try manager.moveItem(atPath: staging, toPath: target)
        } catch {
            throw CommandFailure.runtime("\(target): cannot install the model (\(error.localizedDescription)); it is in \(staging)")
        }
        return (target, kept)
    }
}
