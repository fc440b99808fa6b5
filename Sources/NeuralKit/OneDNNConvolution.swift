import COneDNN
import Locking

/// A 2-D convolution on oneDNN's convolution primitive, NCHW F32 at its boundary, with the
/// weight reordered into the layout the primitive prefers, in F32 or BF16.
///
/// Primitives are made per input shape on first use and cached, and the weight is laid out
/// once per layout they ask for: the layout a convolution wants depends on the image size (a
/// weight laid out for a small probe image left oneDNN only its reference loops at 56×56,
/// 1000× slower), and a model's convolutions see one or a few shapes (224×224 crops; MTCNN's
/// pyramid), a sequence model's one per length. The
/// primitive also chooses its activation layouts (`format_tag any`, NHWC on AVX-512): the
/// input is reordered into it and the output back to NCHW in each call (the BF16 conversion
/// rides on the input's reorder).
package final class OneDNNConvolution: @unchecked Sendable {
    let outputChannels, inputChannels, groups: Int
    let kernel: (height: Int, width: Int)
    let geometry: ConvolutionGeometry
    let precision: ComputePrecision
    /// [out, in/g, kh, kw], PyTorch's layout.
    let weightShape: [Int]
    /// The F32 weight in that layout, which a new layout is reordered from; nil once
    /// `releasePlainWeight` has dropped it, and then a new layout comes from the first one.
    private let plainWeight: Locked<Tensor?>
    /// [outputChannels] F32, or nil.
    let bias: Tensor?
    private let primitives = Locked<[Key: Entry]>([:])
    /// Each weight layout the primitives asked for, laid out once and shared by every entry
    /// that wants it. Cached per shape, HuBERT's positional convolution (33 MiB in F32) kept a
    /// copy for every utterance length it saw: the live engine grew by 800 MiB over
    /// 4 utterances (`merd bench engine --models none`), and without bound over weeks.
    private let layouts = Locked<[(descriptor: dnnl_memory_desc_t, weights: AlignedBuffer)]>([])

    /// Input shapes whose primitives a convolution keeps (as `OneDNNMatmul.cachedRowCounts`):
    /// an image model sees one or a few, a sequence model one per length.
    static let cachedShapes = 32

    /// Primitives and weight layouts held now (tests).
    var cachedCounts: (primitives: Int, layouts: Int) { (primitives.withLock { $0.count }, layouts.withLock { $0.count }) }

    /// How activations are laid out at the boundary.
    package enum Layout: Hashable, Sendable {
        /// [N, C, H, W], NeuralKit's usual layout.
        case channelsFirst
        /// [N, H, W, C]: the layout oneDNN's AVX-512 convolutions pick for themselves, so a
        /// network kept in it needs no reorder between layers.
        case channelsLast
        var tag: dnnl_format_tag_t { self == .channelsFirst ? dnnl_nchw : dnnl_nhwc }
    }

    private struct Key: Hashable {
        let batch, height, width: Int
        let activatingOutput: Bool
        let accumulate: Bool
        let layout: Layout
    }

    private struct Entry {
        let convolution: Primitive
        /// The weight in this primitive's layout.
        let weights: AlignedBuffer
        let source, destination: dnnl_memory_desc_t
        let plainSource, plainDestination: dnnl_memory_desc_t
        /// NCHW F32 → the primitive's input layout (and type), or nil when they are the same.
        let sourceReorder: Primitive?
        /// The primitive's output layout → NCHW, or nil when it is NCHW already.
        let destinationReorder: Primitive?
        /// The other way, for the sum post-op to read what the output held (accumulate only).
        let destinationLoad: Primitive?
    }

    /// - Parameter weight: [out, in / groups, kh, kw], PyTorch's layout.
    package init(weight: Tensor, bias: Tensor?, geometry: ConvolutionGeometry, precision: ComputePrecision) {
        outputChannels = weight.shape[0]
        groups = geometry.groups
        inputChannels = weight.shape[1] * groups
        kernel = (weight.shape[2], weight.shape[3])
        self.geometry = geometry
        self.precision = precision
        weightShape = weight.shape
        plainWeight = Locked(weight.contiguous())
        self.bias = bias?.contiguous()
    }

    /// Drops the plain F32 weight, keeping only the layouts laid out so far (at least one):
    /// a large weight is then held once, in the layout (and type) the primitives read.
    /// HuBERT-large's positional convolution is 33 MiB in F32; its copy beside the laid-out
    /// one was 5 % of the whole model's RSS in BF16.
    package func releasePlainWeight() {
        precondition(cachedCounts.layouts > 0, "no weight layout to keep: run a shape first")
        plainWeight.withLock { $0 = nil }
    }

    /// Whether the plain F32 weight is still held (tests).
    var holdsPlainWeight: Bool { plainWeight.withLock { $0 != nil } }

    /// The weight [out, in/g, kh, kw] in F32: the plain copy, or once that is released the
    /// first layout reordered back (rounded to BF16 when held so).
    package func weight() -> Tensor {
        if let plain = plainWeight.withLock({ $0 }) { return plain }
        let plain = try! Self.weightDescriptor(weightShape, groups: groups, type: dnnl_f32, tag: nil)
        return Tensor(shape: weightShape) { out in try! copyFirstLayout(to: plain, at: UnsafeMutableRawPointer(out.baseAddress!)) }
    }

    /// The first layout laid out, reordered into `descriptor` at `destination`.
    private func copyFirstLayout(to descriptor: dnnl_memory_desc_t, at destination: UnsafeMutableRawPointer) throws(OneDNNError) {
        let first = layouts.withLock { $0[0] }
        let reorder = try OneDNN.reorder(from: first.descriptor, to: descriptor)
        reorder.execute([(DNNL_ARG_FROM, first.descriptor, first.weights.pointer), (DNNL_ARG_TO, descriptor, destination)])
    }

    /// Whether oneDNN has a real implementation for this shape (not its reference loops,
    /// which NeuralKit's own path beats by far).
    package func runs(batch: Int, height: Int, width: Int, activatingOutput: Bool, accumulate: Bool = false,
                      layout: Layout = .channelsFirst) throws(OneDNNError) -> Bool {
        let entry = try entry(batch: batch, height: height, width: width, activatingOutput: activatingOutput, accumulate: accumulate, layout: layout)
        return !entry.convolution.implementation.hasPrefix("ref")
    }

    /// The implementation oneDNN chose for an input of this shape.
    package func implementation(batch: Int, height: Int, width: Int) throws(OneDNNError) -> String {
        try entry(batch: batch, height: height, width: width, activatingOutput: false, accumulate: false, layout: .channelsFirst).convolution.implementation
    }

    /// `output` [N, outC, outH, outW] = conv(`input` [N, C, H, W]) (+ bias) (+ what `output`
    /// holds, with `accumulate`), then SiLU when `activatingOutput`; [N, H, W, C] in and out
    /// with `layout` `.channelsLast`.
    package func apply(batch: Int, height: Int, width: Int, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                       activatingOutput: Bool, accumulate: Bool = false, layout: Layout = .channelsFirst) {
        let entry: Entry
        do {
            entry = try self.entry(batch: batch, height: height, width: width, activatingOutput: activatingOutput, accumulate: accumulate, layout: layout)
        } catch {
            preconditionFailure("\(error)")
        }
        let sourceBytes = entry.sourceReorder == nil ? 0 : dnnl_memory_desc_get_size([entry.source])
        let destinationBytes = entry.destinationReorder == nil ? 0 : dnnl_memory_desc_get_size([entry.destination])
        ScratchPool.shared.withBuffer(byteCount: sourceBytes + destinationBytes + 64) { buffer in
            var source = UnsafeMutableRawPointer(mutating: input)
            if let reorder = entry.sourceReorder {
                source = buffer
                reorder.execute([(DNNL_ARG_FROM, entry.plainSource, UnsafeMutableRawPointer(mutating: input)), (DNNL_ARG_TO, entry.source, source)])
            }
            let destination = entry.destinationReorder == nil ? UnsafeMutableRawPointer(output) : buffer + (sourceBytes + 63) / 64 * 64
            var arguments: [(Int32, dnnl_memory_desc_t, UnsafeMutableRawPointer)] = [
                (DNNL_ARG_SRC, entry.source, source),
                (DNNL_ARG_WEIGHTS, entry.convolution.weightsDescriptor, entry.weights.pointer),
                (DNNL_ARG_DST, entry.destination, destination),
            ]
            func run() {
                entry.destinationLoad?.execute([(DNNL_ARG_FROM, entry.plainDestination, UnsafeMutableRawPointer(output)),
                                                (DNNL_ARG_TO, entry.destination, destination)])
                entry.convolution.execute(arguments)
                entry.destinationReorder?.execute([(DNNL_ARG_FROM, entry.destination, destination),
                                                   (DNNL_ARG_TO, entry.plainDestination, UnsafeMutableRawPointer(output))])
            }
            if let bias {
                bias.withUnsafeBufferPointer { b in
                    let descriptor = try! OneDNN.descriptor([outputChannels], dnnl_f32, dnnl_a)
                    arguments.append((DNNL_ARG_BIAS, descriptor, UnsafeMutableRawPointer(mutating: b.baseAddress!)))
                    run()
                }
            } else {
                run()
            }
        }
    }

    private func entry(batch: Int, height: Int, width: Int, activatingOutput: Bool, accumulate: Bool, layout: Layout) throws(OneDNNError) -> Entry {
        let key = Key(batch: batch, height: height, width: width, activatingOutput: activatingOutput, accumulate: accumulate, layout: layout)
        if let entry = primitives.withLock({ $0[key] }) { return entry }
        let entry = try Self.makeConvolution(
            batch: batch, height: height, width: width, inputChannels: inputChannels, outputChannels: outputChannels, kernel: kernel,
            geometry: geometry, precision: precision, weightShape: weightShape, groups: groups, hasBias: bias != nil,
            activatingOutput: activatingOutput, accumulate: accumulate, layout: layout, laidOut: laidOutWeights)
        primitives.withLock { cache in
            if cache.count >= Self.cachedShapes, let victim = cache.keys.first { cache.removeValue(forKey: victim) }
            cache[key] = entry
        }
        return entry
    }

    /// The weight in the layout `descriptor`, reordered the first time a primitive asks for it.
    private func laidOutWeights(_ descriptor: dnnl_memory_desc_t) throws(OneDNNError) -> AlignedBuffer {
        func find(_ layouts: [(descriptor: dnnl_memory_desc_t, weights: AlignedBuffer)]) -> AlignedBuffer? {
            var wanted = descriptor
            return layouts.first { layout in
                var known = layout.descriptor
                return dnnl_memory_desc_equal(&known, &wanted) != 0
            }?.weights
        }
        if let shared = layouts.withLock({ find($0) }) { return shared }
        let laidOut = AlignedBuffer(byteCount: dnnl_memory_desc_get_size([descriptor]))
        if let weight = plainWeight.withLock({ $0 }) {
            let plain = try Self.weightDescriptor(weightShape, groups: groups, type: dnnl_f32, tag: nil)
            let reorder = try OneDNN.reorder(from: plain, to: descriptor)
            weight.withUnsafeBufferPointer { w in
                reorder.execute([(DNNL_ARG_FROM, plain, UnsafeMutableRawPointer(mutating: w.baseAddress!)),
                                 (DNNL_ARG_TO, descriptor, laidOut.pointer)])
            }
        } else {
            // Released: from the first layout, of the same data type, so the values are the
            // ones the plain weight would have given (a BF16 weight is not rounded twice).
            try copyFirstLayout(to: descriptor, at: laidOut.pointer)
        }
        return layouts.withLock { layouts in
            // Another thread may have laid it out meanwhile: keep one.
            if let shared = find(layouts) { return shared }
            layouts.append((descriptor, laidOut))
            return laidOut
        }
    }

    /// [out, in/g, kh, kw] as oneDNN's weights: `oihw`, or `goihw` [g, out/g, in/g, kh, kw]
    /// when grouped; `tag` nil means that plain layout.
    private static func weightDescriptor(_ shape: [Int], groups: Int, type: dnnl_data_type_t, tag: dnnl_format_tag_t?) throws(OneDNNError) -> dnnl_memory_desc_t {
        if groups == 1 { return try OneDNN.descriptor(shape, type, tag ?? dnnl_oihw) }
        return try OneDNN.descriptor([groups, shape[0] / groups, shape[1], shape[2], shape[3]], type, tag ?? dnnl_goihw)
    }

    private static func makeConvolution(
        batch: Int, height: Int, width: Int, inputChannels: Int, outputChannels: Int, kernel: (height: Int, width: Int),
        geometry: ConvolutionGeometry, precision: ComputePrecision, weightShape: [Int], groups: Int, hasBias: Bool, activatingOutput: Bool,
        accumulate: Bool, layout: Layout, laidOut: (dnnl_memory_desc_t) throws(OneDNNError) -> AlignedBuffer
    ) throws(OneDNNError) -> Entry {
        var weights = try weightDescriptor(weightShape, groups: groups, type: precision.dataType, tag: dnnl_format_tag_any)
        let rows = geometry.padding.resolve(input: height, kernel: kernel.height, stride: geometry.stride.height,
                                            dilation: geometry.dilation.height, axisIsHeight: true)
        let columns = geometry.padding.resolve(input: width, kernel: kernel.width, stride: geometry.stride.width,
                                               dilation: geometry.dilation.width, axisIsHeight: false)
        // oneDNN's padding after must make its output size formula give ours exactly.
        let padBottom = (rows.output - 1) * geometry.stride.height + geometry.dilation.height * (kernel.height - 1) + 1 - height - rows.before
        let padRight = (columns.output - 1) * geometry.stride.width + geometry.dilation.width * (kernel.width - 1) + 1 - width - columns.before
        var source = try OneDNN.descriptor([batch, inputChannels, height, width], precision.dataType, dnnl_format_tag_any)
        var destination = try OneDNN.descriptor([batch, outputChannels, rows.output, columns.output], dnnl_f32, dnnl_format_tag_any)
        var bias = hasBias ? try OneDNN.descriptor([outputChannels], dnnl_f32, dnnl_a) : dnnl_memory_desc_t()
        let strides: [Int64] = [Int64(geometry.stride.height), Int64(geometry.stride.width)]
        let dilates: [Int64] = [Int64(geometry.dilation.height - 1), Int64(geometry.dilation.width - 1)]
        let padLeft: [Int64] = [Int64(rows.before), Int64(columns.before)]
        let padRightSide: [Int64] = [Int64(padBottom), Int64(padRight)]
        let shape = "convolution [\(batch), \(inputChannels), \(height), \(width)] → \(outputChannels) channels, kernel \(kernel), groups \(geometry.groups), \(precision.rawValue)"
        var descriptor = dnnl_convolution_desc_t()
        try OneDNN.check(dnnl_dilated_convolution_forward_desc_init(
            &descriptor, dnnl_forward_inference, dnnl_convolution_direct, &source, &weights, &bias, &destination,
            strides, dilates, padLeft, padRightSide), shape)
        let convolution = try OneDNN.withAttributes(accumulate: accumulate, activation: activatingOutput ? dnnl_eltwise_swish : nil) { attributes throws(OneDNNError) in
            try OneDNN.primitive(&descriptor, attributes: attributes, shape)
        }
        let plainSource = try OneDNN.descriptor([batch, inputChannels, height, width], dnnl_f32, layout.tag)
        let plainDestination = try OneDNN.descriptor([batch, outputChannels, rows.output, columns.output], dnnl_f32, layout.tag)
        var chosenSource = convolution.sourceDescriptor, chosenDestination = convolution.destinationDescriptor
        var plainSourceCopy = plainSource, plainDestinationCopy = plainDestination
        let sourceReorder = dnnl_memory_desc_equal(&chosenSource, &plainSourceCopy) != 0 ? nil : try OneDNN.reorder(from: plainSource, to: chosenSource)
        let destinationReorder = dnnl_memory_desc_equal(&chosenDestination, &plainDestinationCopy) != 0 ? nil : try OneDNN.reorder(from: chosenDestination, to: plainDestination)
        return Entry(convolution: convolution, weights: try laidOut(convolution.weightsDescriptor), source: chosenSource, destination: chosenDestination,
                     plainSource: plainSource, plainDestination: plainDestination,
                     sourceReorder: sourceReorder, destinationReorder: destinationReorder,
                     destinationLoad: accumulate && destinationReorder != nil ? try OneDNN.reorder(from: plainDestination, to: chosenDestination) : nil)
    }
}
