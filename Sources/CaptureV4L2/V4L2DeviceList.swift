import Foundation

/// The video capture devices present (`/dev/video*` that stream video), with their formats.
public enum V4L2DeviceList {
    public struct Device: Sendable, Equatable {
        public let path: String
        public let card: String
        public let driver: String
        /// "MJPG 640x480@30,15 1280x720@30", one entry per format.
        public let formats: [String]
    }

    public static func captureDevices(directory: String = "/dev") -> [Device] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let nodes = names.filter { $0.hasPrefix("video") && Int($0.dropFirst(5)) != nil }
            .sorted { Int($0.dropFirst(5))! < Int($1.dropFirst(5))! }
        return nodes.compactMap { node in
            // Metadata and output nodes fail the capture check: they are not listed.
            guard let device = try? V4L2Device(path: "\(directory)/\(node)") else { return nil }
            let formats = device.formats().map { format in
                let sizes = format.sizes.map { size -> String in
                    let rates = device.frameRates(format.fourcc, width: size.width, height: size.height)
                    let rateText = rates.map { $0 == $0.rounded() ? String(Int($0)) : String(format: "%.2f", $0) }.joined(separator: ",")
                    return "\(size.width)x\(size.height)" + (rates.isEmpty ? "" : "@" + rateText)
                }
                return ([V4L2Device.fourccName(format.fourcc)] + sizes).joined(separator: " ")
            }
            return Device(path: device.path, card: device.card, driver: device.driver, formats: formats)
        }
    }
}
