import ArgumentParser
import CaptureALSA

/// `merd devices`: capture PCMs (and, once video capture lands, video devices).
struct Devices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List audio capture devices (ALSA PCMs).")

    func run() async throws {
        let pcms = ALSADeviceList.capturePCMs()
        print("audio (use as --audio alsa:NAME):")
        if pcms.isEmpty { print("  none: no sound card, or ALSA's configuration lists none") }
        for device in pcms {
            print("  alsa:\(device.name)\(device.description.isEmpty ? "" : "  \(device.description)")")
        }
    }
}
