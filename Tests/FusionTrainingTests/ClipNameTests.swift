@testable import FusionTraining
import Testing

@Suite("Clip names: CLIP and its copies CLIP#aug<k>, built and read by one type")
struct ClipNameTests {
    @Test("a copy's name is built and read back")
    func roundTrip() throws {
        let copy = ClipName(clip: "sample_00000012", copy: 2)
        #expect(copy.description == "sample_00000012#aug2")
        #expect(ClipName(copy.description) == copy)
        #expect(ClipName("sample_00000012") == ClipName(clip: "sample_00000012"))
        #expect(ClipName("a#aug10")?.copy == 10 && ClipName("a#aug10")?.clip == "a")
        #expect(copy.original == ClipName(clip: "sample_00000012") && copy.original.description == "sample_00000012")
    }

    @Test("a # that is not a copy's mark is refused", arguments: ["", "#aug1", "a#", "a#b", "a#aug", "a#aug0", "a#aug01", "a#aug-1", "a#aug1#aug2", "a#augx"])
    func refused(name: String) {
        #expect(ClipName(name) == nil)
    }

    @Test("folds group a clip with its copies by ClipName; another # name is a group of its own")
    func folds() {
        #expect(FusionTrainer.foldGroups(["a", "a#aug1", "b", "a#aug2", "a#b", "b#aug1"]) == [[0, 1, 3], [2, 5], [4]])
    }
}
