import Foundation
@testable import NeuralKit
import Testing

@Suite("Pass buffers")
struct PassBufferTests {
    /// Whether every page of `bytes` from `start` is mapped in this process: `mincore` fails
    /// with ENOMEM where any is not. It asks the kernel about the addresses themselves. The
    /// test used to look for one line of /proc/self/maps holding the whole range, and in one
    /// CI run (stop 41) no line did while the buffer was in use: the file is a text view that
    /// other threads' mappings can change while it is read, not an answer about an address.
    static func isMapped(_ start: UInt, bytes: Int) -> Bool {
        var residency = [UInt8](repeating: 0, count: (bytes + 4095) / 4096)
        guard let address = UnsafeMutableRawPointer(bitPattern: start) else { return false }
        return mincore(address, bytes, &residency) == 0
    }

    @Test("a pass buffer from 1 MiB up is a mapping of its own, usable whole and gone once freed; a smaller one comes from the heap")
    func passBuffers() throws {
        let floats = HeapMemory.passBufferMappedBytes / MemoryLayout<Float>.stride + 1000
        var start: UInt = 0
        do {
            let mapped = PassBuffer(count: floats)
            let buffer = mapped.pointer
            start = UInt(bitPattern: buffer)
            let end = start + UInt(floats * MemoryLayout<Float>.stride) - 1
            #expect(mapped.count == floats)
            #expect(start % 4096 == 0, "mapped buffers start on a page")
            #expect(Self.isMapped(start, bytes: Int(end - start + 1)))
            for i in stride(from: 0, to: floats, by: 997) { buffer[i] = Float(i) }
            buffer[floats - 1] = -1
            #expect(stride(from: 0, to: floats, by: 997).allSatisfy { buffer[$0] == Float($0) } && buffer[floats - 1] == -1)
        }
        #expect(!Self.isMapped(start, bytes: 4096), "unmapped when freed")

        let small = PassBuffer(count: 1000)
        small.pointer.update(repeating: 2, count: 1000)
        #expect(small.pointer[999] == 2)
    }
}
