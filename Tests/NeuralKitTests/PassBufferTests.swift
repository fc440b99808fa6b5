import Foundation
@testable import NeuralKit
import Testing

@Suite("Pass buffers")
struct PassBufferTests {
    /// The mappings of this process, as address ranges (/proc/self/maps).
    static func mappings() throws -> Set<ClosedRange<UInt>> {
        let maps = try String(contentsOfFile: "/proc/self/maps", encoding: .utf8)
        return Set(maps.split(separator: "\n").compactMap { line -> ClosedRange<UInt>? in
            let bounds = line.split(separator: " ")[0].split(separator: "-").compactMap { UInt($0, radix: 16) }
            return bounds.count == 2 ? bounds[0]...(bounds[1] - 1) : nil
        })
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
            // The kernel may merge it with a neighbouring anonymous mapping, so the range that
            // holds it is looked for, not an exact one.
            #expect(try Self.mappings().contains { $0.contains(start) && $0.contains(end) })
            for i in stride(from: 0, to: floats, by: 997) { buffer[i] = Float(i) }
            buffer[floats - 1] = -1
            #expect(stride(from: 0, to: floats, by: 997).allSatisfy { buffer[$0] == Float($0) } && buffer[floats - 1] == -1)
        }
        #expect(try !Self.mappings().contains { $0.contains(start) }, "unmapped when freed")

        let small = PassBuffer(count: 1000)
        small.pointer.update(repeating: 2, count: 1000)
        #expect(small.pointer[999] == 2)
    }
}
