import Foundation

/// The machine's CPU time the hypervisor gave to other guests (`steal` in /proc/stat) while a
/// benchmark ran. Machines of this kind are virtual and sometimes share their cores: in one
/// session `Benchmarks/hubert` lost 8 % of its CPU time on average to other guests, and its BF16
/// 10-s pass took 1431 ms in one round and 1675 in the next, against 815–818 in a later run that
/// lost under 1 %. A timing is only comparable with another taken with little stolen, so the
/// benchmarks print the share beside their numbers.
package struct StolenTime: Sendable, Equatable {
    /// Clock ticks the hypervisor took from this machine's CPUs, all of them together.
    package let steal: UInt64
    /// Clock ticks of every state (user, nice, system, idle, iowait, irq, softirq, steal).
    package let total: UInt64

    /// The counters now, nil where /proc/stat cannot be read.
    package static func now() -> StolenTime? {
        (try? String(contentsOfFile: "/proc/stat", encoding: .utf8)).flatMap(StolenTime.init(procStat:))
    }

    /// From the text of /proc/stat: its first line, `cpu  user nice system idle iowait irq
    /// softirq steal guest guest_nice` (ticks summed over CPUs). Guest time is already counted
    /// in user and nice, so it is left out of the total. Nil when that line is not there or
    /// stops before `steal` (kernels before 2.6.11).
    package init?(procStat: String) {
        guard let first = procStat.split(separator: "\n", maxSplits: 1).first else { return nil }
        let fields = first.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.first == "cpu", fields.count >= 9 else { return nil }
        var ticks: [UInt64] = []
        for field in fields[1...8] {
            guard let value = UInt64(field) else { return nil }
            ticks.append(value)
        }
        steal = ticks[7]
        total = ticks.reduce(0, +)
    }

    /// The share of the machine's CPU time stolen between `earlier` and this, in [0, 1]; nil
    /// when no time passed or the counters went back (another boot).
    package func stolenShare(since earlier: StolenTime) -> Double? {
        guard total > earlier.total, steal >= earlier.steal else { return nil }
        return min(1, Double(steal - earlier.steal) / Double(total - earlier.total))
    }

    /// "4.2 % of the CPU time stolen by the hypervisor" since `earlier`, or nil where unknown.
    package static func summary(since earlier: StolenTime?) -> String? {
        guard let earlier, let share = now()?.stolenShare(since: earlier) else { return nil }
        return String(format: "%.1f %% of the CPU time stolen by the hypervisor", share * 100)
    }
}
