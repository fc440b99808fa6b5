import Testing
@testable import StreamEngine

@Suite("RecentAudio: the stream's last samples by index")
struct RecentAudioTests {
    @Test("slices by stream index; what has been trimmed is left out, never a gap filled with later samples")
    func slices() {
        var recent = RecentAudio(capacity: 100)
        for chunk in 0..<10 { recent.append((0..<30).map { Float(chunk * 30 + $0) }) }
        // 300 samples appended; at least the last `capacity` are held, at most twice that.
        #expect(recent.end == 300)
        #expect(Array(recent.slice(from: 250, to: 260)) == (250..<260).map(Float.init))
        #expect(Array(recent.slice(from: 200, to: 300)) == (200..<300).map(Float.init))
        // From before what is held: the held part only, ending where asked.
        let older = recent.slice(from: 0, to: 220)
        #expect(older.count < 220 && older.last == 219 && older.first.map { Int($0) } == 220 - older.count)
        // Wholly before, empty, reversed or past the end: nothing, or up to the end.
        #expect(recent.slice(from: 0, to: 10).isEmpty)
        #expect(recent.slice(from: 260, to: 250).isEmpty)
        #expect(Array(recent.slice(from: 290, to: 400)) == (290..<300).map(Float.init))
    }
}
