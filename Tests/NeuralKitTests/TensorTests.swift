import NeuralKit
import Testing

@Suite("Tensor storage and views")
struct TensorTests {
    let t = Tensor(shape: [2, 3, 4], scalars: (0..<24).map(Float.init))

    @Test("row-major layout and element access")
    func layout() {
        #expect(t.rank == 3 && t.count == 24 && t.strides == [12, 4, 1] && t.isContiguous)
        #expect(t[1, 2, 3] == 23 && t[0, 1, 0] == 4)
    }

    @Test("reshape is a view and infers -1")
    func reshape() {
        let r = t.reshaped([4, -1])
        #expect(r.shape == [4, 6] && r.scalars == t.scalars)
        #expect(t.reshaped([24]).scalars == (0..<24).map(Float.init))
    }

    @Test("index and rows are views of the right elements")
    func slicing() {
        #expect(t[1].shape == [3, 4] && t[1].scalars == (12..<24).map(Float.init))
        let rows = t[1].rows(1..<3)
        #expect(rows.shape == [2, 4] && rows.scalars == (16..<24).map(Float.init) && rows.isContiguous)
    }

    @Test("transpose is a strided view; contiguous() materialises it")
    func transpose() {
        let m = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let mt = m.transposed()
        #expect(mt.shape == [3, 2] && !mt.isContiguous)
        #expect(mt.scalars == [1, 4, 2, 5, 3, 6])
        #expect(mt.contiguous().isContiguous && mt.contiguous().scalars == [1, 4, 2, 5, 3, 6])
        #expect(mt.reshaped([6]).scalars == [1, 4, 2, 5, 3, 6])
    }

    @Test("writes never show through a shared copy or view (copy on write)")
    func copyOnWrite() {
        var a = Tensor(shape: [2, 2], scalars: [1, 2, 3, 4])
        let b = a
        let view = a.rows(1..<2)
        a[0, 0] = 9
        a.withUnsafeMutableBufferPointer { $0[3] = 8 }
        #expect(a.scalars == [9, 2, 3, 8])
        #expect(b.scalars == [1, 2, 3, 4])
        #expect(view.scalars == [3, 4])
    }

    @Test("empty and scalar shapes")
    func degenerate() {
        let empty = Tensor(shape: [0, 5])
        #expect(empty.count == 0 && empty.scalars.isEmpty)
        let scalar = Tensor(shape: [], scalars: [7])
        #expect(scalar.count == 1 && scalar.scalars == [7])
    }

    @Test("maxAbsoluteDifference never hides a NaN")
    func difference() {
        let a = Tensor(shape: [3], scalars: [1, 2, 3])
        #expect(a.maxAbsoluteDifference(Tensor(shape: [3], scalars: [1, 2.5, 3])) == 0.5)
        #expect(a.maxAbsoluteDifference(Tensor(shape: [3], scalars: [.nan, 2, 3])).isNaN)
    }
}
