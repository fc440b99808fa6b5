import CALSA

/// The capture PCMs ALSA knows: the configured names (`default`, `pulse`, `dsnoop:…`) and,
/// per card, the hardware devices (`hw:CARD,DEV`, `plughw:CARD,DEV`).
public enum ALSADeviceList {
    public struct Device: Sendable, Equatable {
        /// The name to pass to `ALSACapture(device:)` / `merd run --audio alsa:NAME`.
        public let name: String
        public let description: String
    }

    public static func capturePCMs() -> [Device] {
        var hints: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
        guard snd_device_name_hint(-1, "pcm", &hints) >= 0, let hints else { return [] }
        defer { snd_device_name_free_hint(hints) }
        var devices: [Device] = []
        var cursor = hints
        while let hint = cursor.pointee {
            defer { cursor += 1 }
            func field(_ id: String) -> String? {
                guard let value = snd_device_name_get_hint(hint, id) else { return nil }
                defer { free(value) }
                return String(cString: value)
            }
            // IOID is absent for PCMs that do both directions, "Input" for capture only.
            let direction = field("IOID")
            guard direction == nil || direction == "Input", let name = field("NAME"), name != "null" else { continue }
            let description = (field("DESC") ?? "").split(separator: "\n").joined(separator: " — ")
            devices.append(Device(name: name, description: description))
        }
        // `default` always exists in ALSA's configuration, whether or not it carries a hint.
        if !devices.contains(where: { $0.name == "default" }) {
            devices.insert(Device(name: "default", description: "ALSA's default capture device"), at: 0)
        }
        return devices
    }
}
