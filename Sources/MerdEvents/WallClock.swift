import Foundation

/// Wall-clock times as the protocol writes them and as people read them.
///
/// Formatted by hand from whole milliseconds: `Date.ISO8601FormatStyle` truncates, and
/// `1795623601.004` as a Double lies just below .004, so it prints .003; a formatter object
/// per event (`ISO8601DateFormatter`) is what this replaces.
public enum WallClock {
    /// `2026-11-25T16:20:01.123Z`: UTC, milliseconds rounded to the nearest (as
    /// ISO8601DateFormatter did, so `time` reads as before).
    public static func rfc3339(_ date: Date) -> String {
        let (seconds, milliseconds) = wholeMilliseconds(date)
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400  // floor, before 1970 too
        let (year, month, day) = civil(fromDays: days)
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(timeOfDay(seconds - days * 86_400, milliseconds))Z"
    }

    /// A `time` field read back (RFC 3339, with or without fractional seconds, any offset).
    public static func date(rfc3339 text: String) -> Date? {
        (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text))
            ?? (try? Date.ISO8601FormatStyle().parse(text))
    }

    /// `16:20:01.123`: the time of day in `timeZone`, milliseconds rounded to the nearest.
    public static func timeOfDay(_ date: Date, in timeZone: TimeZone) -> String {
        let (seconds, milliseconds) = wholeMilliseconds(date)
        let local = seconds + timeZone.secondsFromGMT(for: date)
        let second = ((local % 86_400) + 86_400) % 86_400
        return timeOfDay(second, milliseconds)
    }

    /// Whole seconds since 1970 and the milliseconds past them (0…999), rounded to the nearest
    /// millisecond before splitting, so .9996 s carries into the next second.
    private static func wholeMilliseconds(_ date: Date) -> (seconds: Int, milliseconds: Int) {
        let total = Int((date.timeIntervalSince1970 * 1000).rounded())
        let (seconds, milliseconds) = total.quotientAndRemainder(dividingBy: 1000)
        return milliseconds < 0 ? (seconds - 1, milliseconds + 1000) : (seconds, milliseconds)
    }

    private static func timeOfDay(_ secondOfDay: Int, _ milliseconds: Int) -> String {
        "\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2)).\(pad(milliseconds, 3))"
    }

    /// Year, month, day of a day number since 1970-01-01 in the proleptic Gregorian calendar
    /// (Howard Hinnant, "chrono-Compatible Low-Level Date Algorithms", `civil_from_days`).
    private static func civil(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153  // 0 = March: leap days fall at the end
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
