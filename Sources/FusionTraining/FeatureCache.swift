import Foundation
import NeuralKit
import StreamEngine

/// Clip features on disk, one safetensors file per clip, so that extraction over a corpus is
/// done once: a rerun, or a restart after `kill -9`, recomputes only the clips that have no
/// entry. An entry is keyed by the clip's content (its sha256, not its name or path) inside a
/// folder keyed by everything else that fixes the features — the models' sha256, the layers,
/// the frame step, the augmentation — so a changed model or option never reads stale values.
///
/// Entries are written whole to a temporary name and renamed into place (`SafeTensorsWriter`
/// writes atomically), so an entry that exists is complete; one that does not parse (a disk
/// error, a hand edit) is reported and recomputed, never used.
package struct FeatureCache: Sendable {
    /// `<root>/<fingerprint digest>`.
    package let directory: String
    /// What the entries were computed with, as text (kept in `fingerprint.txt` beside them).
    package let fingerprint: String

    /// Opens (and creates) the cache for `fingerprint` under `root`.
    package init(root: String, fingerprint: String) throws(ClipFeatureError) {
        self.fingerprint = fingerprint
        directory = root + "/" + Self.digest(fingerprint)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let note = directory + "/fingerprint.txt"
            if !FileManager.default.fileExists(atPath: note) { try fingerprint.write(toFile: note, atomically: true, encoding: .utf8) }
        } catch {
            throw .cache(path: directory, reason: error.localizedDescription)
        }
    }

    /// The entry of the clip whose content has the sha256 `key`.
    package func path(_ key: String) -> String { directory + "/" + key + ".safetensors" }

    /// The clip's features, or nil when there is no entry. `unreadable` is called for an entry
    /// that exists but cannot be read (it is then recomputed and overwritten).
    package func load(_ key: String, unreadable: (String) -> Void = { _ in }) -> ClipFeatureExtractor.Clip? {
        let path = path(key)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        do {
            let file = try SafeTensorsFile(path: path)
            guard file.metadata["fingerprint"] == fingerprint else {
                unreadable("\(path): written for other models or options")
                return nil
            }
            var clip = ClipFeatureExtractor.Clip()
            for name in file.names {
                guard let feature = FeatureName(name) else { unreadable("\(path): tensor '\(name)' is not a feature"); return nil }
                clip.features[feature] = try file.tensor(name).scalars
            }
            for name in (file.metadata["faceless"] ?? "").split(separator: ",") {
                guard let feature = FeatureName(String(name)) else { unreadable("\(path): '\(name)' is not a feature"); return nil }
                clip.features[feature] = []
            }
            guard let faces = file.metadata["face_frames"].flatMap(Int.init), let missing = file.metadata["missing_frames"].flatMap(Int.init) else {
                unreadable("\(path): no frame counts")
                return nil
            }
            (clip.faceFrames, clip.missingFrames) = (faces, missing)
            return clip
        } catch {
            unreadable("\(path): \(error.description)")
            return nil
        }
    }

    /// Stores the clip's features under `key`, atomically.
    package func store(_ clip: ClipFeatureExtractor.Clip, key: String) throws(ClipFeatureError) {
        let present = clip.features.filter { !$0.value.isEmpty }.sorted { $0.key.description < $1.key.description }
        let faceless = clip.features.filter(\.value.isEmpty).map(\.key.description).sorted()
        let tensors = present.map { (name: $0.key.description, tensor: Tensor(shape: [$0.value.count], scalars: $0.value)) }
        let metadata = ["fingerprint": fingerprint, "faceless": faceless.joined(separator: ","),
                        "face_frames": "\(clip.faceFrames)", "missing_frames": "\(clip.missingFrames)"]
        do { try SafeTensorsWriter.write(tensors, metadata: metadata, to: path(key)) } catch {
            throw .cache(path: path(key), reason: error.description)
        }
    }

    /// How many entries the cache holds.
    package var count: Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".safetensors") }.count
    }

    /// A short stable name for `text` (FNV-1a, 64 bits): a folder name, not a security check —
    /// the full fingerprint is compared on every load.
    static func digest(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return String(hash, radix: 16).leftPadded(to: 16)
    }
}

private extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
