import FuzzInput
import StreamEngine

/// dlib's serialised shape predictor (the 68-point landmark model).
FuzzInput.run { data, size in
    guard let data else { return 0 }
    FuzzInput.withFile(data, size) { path in _ = try? LandmarkPredictor(path: path) }
    return 0
}
