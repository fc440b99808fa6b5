import CaptureV4L2
import MediaTypes
import Testing

/// What can be checked without a video driver: the error paths. The streaming tests run in
/// a QEMU guest with vivid and v4l2loopback (see README, "V4L2 tests").
@Suite("V4L2 capture on a machine without video devices")
struct V4L2HostTests {
    @Test("a missing device is not found, and says how to list devices")
    func missing() {
        let error = #expect(throws: CaptureError.self) { _ = try V4L2Capture(path: "/dev/video99").frames() }
        #expect(error == .notFound(source: "/dev/video99"))
        #expect(error?.description.contains("merd devices") == true)
    }

    @Test("a file that is not a V4L2 device is refused as such")
    func notADevice() {
        let error = #expect(throws: CaptureError.self) { _ = try V4L2Capture(path: "/dev/null").frames() }
        guard case .unsupportedFormat(let source, let detail) = error else {
            Issue.record("expected unsupportedFormat, got \(String(describing: error))")
            return
        }
        #expect(source == "/dev/null" && detail.contains("not a V4L2 device"))
    }

    @Test("listing devices where there are none lists none")
    func emptyList() {
        #expect(V4L2DeviceList.captureDevices(directory: "/nonexistent").isEmpty)
    }
}
