import Foundation
@testable import Quorum
import XCTest

/// Seeded simulation runs (see ``RaftSimulation``).
///
/// * `SAMSA_RAFT_SEED=<n>`: replay one seed with its full trace (3 voters unless
///   `SAMSA_RAFT_VOTERS` says otherwise).
/// * `SAMSA_RAFT_RUNS=<n>`: how many seeds `testSeededRuns` runs (default below, CI-sized);
///   `SAMSA_RAFT_SEED_BASE=<n>|random` where they start (default fixed, so CI is reproducible).
/// * `scripts/raft-sim.sh` runs a long batch with a random base.
final class RaftSimulationTests: XCTestCase {
    static let defaultRuns = 150

    private func env(_ name: String) -> String? { ProcessInfo.processInfo.environment[name] }

    func testSeededRuns() throws {
        if let replay = env("SAMSA_RAFT_SEED"), let seed = UInt64(replay) {
            var options = RaftSimulation.Options()
            options.voters = env("SAMSA_RAFT_VOTERS").flatMap(Int.init) ?? 3
            options.observers = env("SAMSA_RAFT_OBSERVERS").flatMap(Int.init) ?? 0
            options.verbose = true
            let stats = try RaftSimulation(seed: seed, options: options).run()
            print("raft-sim seed=\(seed) voters=\(options.voters) ok: \(stats)")
            return
        }
        let runs = env("SAMSA_RAFT_RUNS").flatMap(Int.init) ?? Self.defaultRuns
        let base: UInt64
        switch env("SAMSA_RAFT_SEED_BASE") {
        case "random"?: base = UInt64.random(in: 1..<(1 << 40))
        case let value?: base = UInt64(value) ?? 1
        case nil: base = 1
        }
        print("raft-sim: \(runs) runs from seed \(base) (replay one with SAMSA_RAFT_SEED=<seed> [SAMSA_RAFT_VOTERS=5])")
        let started = Date()
        var steps = 0, elections = 0, crashes = 0, commits: Int64 = 0, worstHeal: Int64 = 0
        for i in 0..<UInt64(runs) {
            let seed = base + i
            var options = RaftSimulation.Options()
            options.voters = i % 2 == 0 ? 3 : 5
            options.observers = Int(i % 3)
            do {
                let stats = try RaftSimulation(seed: seed, options: options).run()
                steps += stats.steps
                elections += stats.elections
                crashes += stats.crashes
                commits += stats.committedOffset
                worstHeal = max(worstHeal, stats.healToCommitMs)
                print("raft-sim seed=\(seed) voters=\(options.voters) observers=\(options.observers) ok steps=\(stats.steps) elections=\(stats.elections) "
                      + "crashes=\(stats.crashes) committed=\(stats.committedOffset) healToCommitMs=\(stats.healToCommitMs)")
            } catch let failure as RaftSimulation.Failure {
                XCTFail("\(failure) (SAMSA_RAFT_VOTERS=\(options.voters) SAMSA_RAFT_OBSERVERS=\(options.observers))")
                return
            }
        }
        let seconds = Date().timeIntervalSince(started)
        print(String(format: "raft-sim: %d runs in %.1f s (%.1f runs/s), %d steps, %d elections, %d crashes, %lld committed offsets, worst heal-to-commit %lld ms",
                     runs, seconds, Double(runs) / seconds, steps, elections, crashes, commits, worstHeal))
    }

    /// Seeds that once failed (with the harness as it was then; they still run full chaos).
    func testRegressionSeeds() throws {
        // 8: livelock of election timers; 214: kill -9 + restart + power loss lost fsynced data;
        // 225748937793: the harness let a crash happen after healing and waited on a dead proposer.
        for (seed, voters, observers) in [(UInt64(8), 5, 0), (214, 5, 0), (225_748_937_793, 3, 2)] {
            var options = RaftSimulation.Options()
            options.voters = voters
            options.observers = observers
            _ = try RaftSimulation(seed: seed, options: options).run()
        }
    }

    /// A calm cluster elects one leader and commits, with 1, 3 and 5 voters.
    func testCalmClustersElectAndCommit() throws {
        for voters in [1, 3, 5] {
            var options = RaftSimulation.Options()
            options.voters = voters
            options.chaosMs = 0
            let stats = try RaftSimulation(seed: 42, options: options).run()
            XCTAssertGreaterThan(stats.committedOffset, 0)
            XCTAssertLessThan(stats.healToCommitMs, 5_000, "voters \(voters)")
        }
    }

    // MARK: The checker can fail

    /// Runs seeds with a broken rule until the checker objects; returns the first message.
    private func firstViolation(_ faults: RaftTestingFaults, seeds: Range<UInt64>) -> String? {
        for seed in seeds {
            var options = RaftSimulation.Options()
            options.voters = seed % 2 == 0 ? 3 : 5
            options.faults = faults
            do { _ = try RaftSimulation(seed: seed, options: options).run() } catch let failure as RaftSimulation.Failure {
                print("broken rule caught at seed \(seed): \(failure.message)")
                return failure.message
            } catch {
                return "\(error)"
            }
        }
        return nil
    }

    func testCheckerCatchesAVoteSentBeforeItIsPersisted() {
        var faults = RaftTestingFaults()
        faults.skipVotePersistence = true
        let message = firstViolation(faults, seeds: 1..<20)
        XCTAssertNotNil(message)
        XCTAssertTrue(message?.contains("VotePersistedBeforeSent") ?? false, message ?? "")
    }

    func testCheckerCatchesCommitWithoutAMajority() {
        var faults = RaftTestingFaults()
        faults.commitWithoutMajority = true
        let message = firstViolation(faults, seeds: 1..<50)
        XCTAssertNotNil(message, "committing on the leader alone must be caught")
    }

    func testCheckerCatchesVotesThatIgnoreTheLog() {
        var faults = RaftTestingFaults()
        faults.grantVotesIgnoringLog = true
        let message = firstViolation(faults, seeds: 1..<200)
        XCTAssertNotNil(message, "granting votes to stale candidates must be caught")
    }
}
