import Foundation
import TerminalUI

/// BENCHMARK ONLY: measures one refresh of the console at scale with a
/// `SyntheticClusterSource`: the sampler's collect + ingest (history, rates, verdicts for
/// every partition and group) and drawing each pane on an 80x24 virtual terminal.
public enum ConsoleBenchmark {
    public struct Result: Sendable {
        public var partitions: Int
        public var groups: Int
        public var samples: Int
        /// Median seconds of collect + ingest per sample (after the first).
        public var sampleMedian: Double
        public var sampleMax: Double
        /// Median seconds to present one frame, per pane.
        public var frameMedian: [String: Double]
        /// Slowest frame per pane: the one that rebuilt the pane's rows from a new snapshot.
        public var frameMax: [String: Double]
    }

    public static func run(partitions: Int, groups: Int, samples: Int = 10) async -> Result {
        let source = SyntheticClusterSource(partitions: partitions, groups: groups)
        var state = SamplerState()
        var times: [Double] = []
        var snap = ClusterSnapshot.empty(bootstrap: source.displayName)
        for _ in 0..<samples {
            let t0 = ContinuousClock.now
            let raw = await ClusterSampler.collect(from: source, withConfigs: state.wantsConfigs)
            snap = state.ingest(raw, bootstrap: source.displayName)
            times.append(seconds(ContinuousClock.now - t0))
        }
        let steady = Array(times.dropFirst()).sorted()
        var frames: [String: Double] = [:]
        var framesMax: [String: Double] = [:]
        let vt = VirtualTerminal(width: 80, height: 24)
        for (name, key) in [("topics", Key.char("2")), ("groups", .char("3")), ("brokers", .char("1"))] {
            let controller = ConsoleController(readOnly: true, brokerControl: false)
            _ = controller.handle(key, snapshot: snap, now: Date())
            var ft: [Double] = []
            for i in 0..<30 {
                // Scroll so every frame draws different rows; a new sequence defeats the cache
                // every 10 frames, as a new sample would.
                if i % 10 == 0 { snap.sequence += 1 }
                _ = controller.handle(.pageDown, snapshot: snap, now: Date())
                let t0 = ContinuousClock.now
                var c = vt.makeCanvas()
                controller.render(snap, into: &c, now: Date())
                vt.present(c, theme: controller.theme)
                ft.append(seconds(ContinuousClock.now - t0))
            }
            frames[name] = ft.sorted()[ft.count / 2]
            framesMax[name] = ft.max()
        }
        return Result(partitions: partitions, groups: groups, samples: samples,
                      sampleMedian: steady.isEmpty ? times[0] : steady[steady.count / 2], sampleMax: times.max() ?? 0, frameMedian: frames, frameMax: framesMax)
    }

    static func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
}
