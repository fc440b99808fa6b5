import ArgumentParser
import CaptureALSA
import CaptureV4L2

/// `merd devices`: capture PCMs (and, once video capture lands, video devices).
struct Devices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List capture devices: ALSA PCMs and V4L2 video devices with their formats.")

    func run() async throws {
        let pcms = ALSADeviceList.capturePCMs()
        print("audio (use as --audio alsa:NAME):")
        if pcms.isEmpty { print("  none: no sound card, or ALSA's configuration lists none") }
        for device in pcms {
            print("  alsa:\(device.name)\(device.description.isEmpty ? "" : "  \(device.description)")")
        }
        let cameras = V4L2DeviceList.captureDevices()
        print("video (use as --video PATH):")
        if cameras.isEmpty { print("  none: no /dev/video* that captures video (is the camera plugged in, and may this user open it?)") }
        for camera in cameras {
            print("  \(camera.path)  \(camera.card) (\(camera.driver))")
            for format in camera.formats { print("    \(format)") }
        }
    }
}
