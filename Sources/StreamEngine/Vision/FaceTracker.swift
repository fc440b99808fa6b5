/// Gives every face in view a track id that lasts while it stays in view, and across short
/// absences (a blink of the detector, a turn of the head, a walk out of frame and back).
///
/// Each frame's faces are matched to the tracks in three passes, each taking only what the
/// one before left:
/// 1. box overlap (IoU) with where each track is expected (its last box moved by its
///    velocity), the best overlaps first;
/// 2. centre distance, within half the track's width, for a face that moved further than
///    overlap allows between two analysed frames;
/// 3. for a track not seen for a while, a face of about its size within two of its widths of
///    where it was last seen, or of where its velocity has taken it since (someone back in
///    view, or out from behind someone else).
/// A face left over starts a new track; a track unseen for `absenceSeconds` ends. Ids only
/// grow, so an id is never given to two people in one run.
///
/// A value type: one per video stream, fed in time order.
public struct FaceTracker: Sendable {
    public struct Parameters: Sendable, Equatable {
        /// A track unseen this long ends (`engine.face_track_seconds`).
        public var absenceSeconds: Double = 2
        /// The overlap the first pass needs.
        public var minimumOverlap: Double = 0.3
        /// The second pass: centre distance as a fraction of the track's width.
        public var nearbyFraction: Double = 0.5
        /// The third pass: distance in track widths, and the size ratio allowed.
        public var returnWidths: Double = 2
        public var returnSizeRatio: Double = 1.6

        public init() {}
    }

    /// A box in image pixels.
    public struct Box: Sendable, Equatable {
        public var x1, y1, x2, y2: Double

        public init(x1: Double, y1: Double, x2: Double, y2: Double) {
            self.x1 = x1
            self.y1 = y1
            self.x2 = x2
            self.y2 = y2
        }

        public var width: Double { x2 - x1 }
        public var height: Double { y2 - y1 }
        var centre: (x: Double, y: Double) { ((x1 + x2) / 2, (y1 + y2) / 2) }

        func moved(by dx: Double, _ dy: Double) -> Box { Box(x1: x1 + dx, y1: y1 + dy, x2: x2 + dx, y2: y2 + dy) }

        func overlap(_ other: Box) -> Double {
            let w = min(x2, other.x2) - max(x1, other.x1), h = min(y2, other.y2) - max(y1, other.y1)
            guard w > 0, h > 0 else { return 0 }
            let shared = w * h
            return shared / (width * height + other.width * other.height - shared)
        }

        func distance(to other: Box) -> Double {
            let a = centre, b = other.centre
            return ((a.x - b.x) * (a.x - b.x) + (a.y - b.y) * (a.y - b.y)).squareRoot()
        }
    }

    public struct Track: Sendable, Equatable {
        public let id: Int
        /// The box where it was last seen.
        public internal(set) var box: Box
        public internal(set) var lastSeen: Double
        /// Centre velocity, pixels per second (smoothed).
        var velocity: (x: Double, y: Double) = (0, 0)

        public static func == (a: Track, b: Track) -> Bool { a.id == b.id && a.box == b.box && a.lastSeen == b.lastSeen }

        /// Where it should be at `time`: moved on by its velocity for at most `horizon`
        /// seconds (half a second frame to frame; beyond that a guess is worse than the last
        /// place seen, except as a second chance for a face that reappears).
        func expected(at time: Double, horizon: Double = 0.5) -> Box {
            let dt = min(max(time - lastSeen, 0), horizon)
            return box.moved(by: velocity.x * dt, velocity.y * dt)
        }
    }

    public let parameters: Parameters
    public private(set) var tracks: [Track] = []
    private var nextID = 1

    public init(parameters: Parameters = Parameters()) {
        self.parameters = parameters
    }

    /// Matches the faces seen at `time` to tracks; returns the track id of each face, in the
    /// order given.
    public mutating func update(time: Double, faces: [Box]) -> [Int] {
        tracks.removeAll { time - $0.lastSeen > parameters.absenceSeconds }
        var assigned = [Int?](repeating: nil, count: faces.count)
        var taken = Set<Int>()  // track indices
        func assign(_ face: Int, _ track: Int) {
            assigned[face] = track
            taken.insert(track)
        }
        // 1. Overlap with where each track is expected.
        var pairs: [(face: Int, track: Int, score: Double)] = []
        for (f, face) in faces.enumerated() {
            for (t, track) in tracks.enumerated() {
                let overlap = face.overlap(track.expected(at: time))
                if overlap >= parameters.minimumOverlap { pairs.append((f, t, overlap)) }
            }
        }
        for pair in pairs.sorted(by: { $0.score > $1.score }) where assigned[pair.face] == nil && !taken.contains(pair.track) {
            assign(pair.face, pair.track)
        }
        // 2. Near where a track is expected; 3. back near where a lost track was last seen.
        for pass in 2...3 {
            pairs.removeAll()
            for (f, face) in faces.enumerated() where assigned[f] == nil {
                for (t, track) in tracks.enumerated() where !taken.contains(t) {
                    let width = max(track.box.width, 1)
                    if pass == 2 {
                        let distance = face.distance(to: track.expected(at: time))
                        if distance <= parameters.nearbyFraction * width { pairs.append((f, t, -distance)) }
                    } else {
                        let ratio = max(face.width, 1) / width
                        let distance = min(face.distance(to: track.box),
                                           face.distance(to: track.expected(at: time, horizon: parameters.absenceSeconds)))
                        if distance <= parameters.returnWidths * width, ratio <= parameters.returnSizeRatio, 1 / ratio <= parameters.returnSizeRatio {
                            pairs.append((f, t, -distance))
                        }
                    }
                }
            }
            for pair in pairs.sorted(by: { $0.score > $1.score }) where assigned[pair.face] == nil && !taken.contains(pair.track) {
                assign(pair.face, pair.track)
            }
        }
        // Update matched tracks; start new ones.
        var ids: [Int] = []
        for (f, face) in faces.enumerated() {
            if let t = assigned[f] {
                let track = tracks[t]
                let dt = time - track.lastSeen
                if dt > 0 && dt <= 0.5 {
                    let (old, new) = (track.box.centre, face.centre)
                    let measured = ((new.x - old.x) / dt, (new.y - old.y) / dt)
                    tracks[t].velocity = (0.5 * track.velocity.x + 0.5 * measured.0, 0.5 * track.velocity.y + 0.5 * measured.1)
                } else {
                    tracks[t].velocity = (0, 0)
                }
                tracks[t].box = face
                tracks[t].lastSeen = time
                ids.append(track.id)
            } else {
                tracks.append(Track(id: nextID, box: face, lastSeen: time))
                ids.append(nextID)
                nextID += 1
            }
        }
        return ids
    }

    /// Forgets every track (a new video run); ids go on growing.
    public mutating func reset() {
        tracks.removeAll()
    }
}
