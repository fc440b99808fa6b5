import Foundation
@testable import StreamEngine
import Testing

@Suite("Feature names: HL<k> is a speech layer, anything else a visual feature, parsed once")
struct FeatureNameTests {
    @Test("names read and print back the same", arguments: ["HL0", "HL18", "HL24", "MX", "RF", "MR", "H", "hl18", "L18"])
    func roundTrip(name: String) throws {
        let feature = try #require(FeatureName(name))
        #expect(feature.description == name)
    }

    @Test("speech layers and visual features are told apart by their parse")
    func modality() {
        #expect(FeatureName("HL18") == .speechLayer(18) && FeatureName("HL18")?.modality == .speech && FeatureName("HL18")?.speechLayer == 18)
        #expect(FeatureName("MR") == .visual("MR") && FeatureName("MR")?.modality == .visual && FeatureName("MR")?.speechLayer == nil)
        #expect(FeatureName("hl18") == .visual("hl18"), "the prefix is HL, as files spell it")
        #expect(FeatureName.speechLayer(7).description == "HL7")
    }

    @Test("names that start like a speech layer but are none are refused", arguments: ["", "HL", "HLx", "HL-1", "HL+1", "HL018", "HL 18", "HL1.5", "HL١"])
    func refused(name: String) {
        #expect(FeatureName(name) == nil)
    }

    @Test("fusion inputs expose their parsed name; architectures split inputs by it; a stray name is refused")
    func inputs() throws {
        let inputs = [FusionInput(name: "HL18", size: 4), FusionInput(feature: .visual("MR"), size: 3), FusionInput(feature: .speechLayer(19), size: 4)]
        #expect(inputs.map(\.name) == ["HL18", "MR", "HL19"])
        #expect(inputs.map(\.feature) == [.speechLayer(18), .visual("MR"), .speechLayer(19)])
        let architecture = FusionArchitecture(inputs: inputs, structure: .hierarchical)
        #expect(architecture.inputs(of: .speech).map(\.name) == ["HL18", "HL19"])
        #expect(architecture.inputs(of: .visual).map(\.name) == ["MR"])
        #expect(architecture.audioInputs == architecture.inputs(of: .speech) && architecture.visualInputs == architecture.inputs(of: .visual))
        try FusionNetwork(architecture: architecture).validate()

        let stray = FusionArchitecture(inputs: inputs + [FusionInput(name: "HLx", size: 2)], structure: .parallel)
        #expect(throws: FusionError.invalidArchitecture("input 'HLx' is not a feature name (HL<k> for a speech layer, or a visual feature such as MR)")) {
            try FusionNetwork(architecture: stray).validate()
        }
        let speechOnly = FusionArchitecture(inputs: [FusionInput(name: "HL18", size: 4)], structure: .pairwise)
        #expect(throws: FusionError.self) { try FusionNetwork(architecture: speechOnly).validate() }
    }
}
