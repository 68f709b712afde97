import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A child process started with `posix_spawn`, with what Foundation's `Process` does not
/// give: every signal reset to its default action and an empty signal mask (the parent's
/// NIO and dispatch threads block signals, and a blocked SIGTERM would make the broker's
/// graceful shutdown impossible), and its own process group, so a Ctrl-C typed at the
/// terminal reaches the console (which then stops the broker in order) and not the broker.
///
/// Not Sendable-shared state: the pid is a value; exit status is collected with `waitpid`.
public struct ChildProcess: Sendable {
    public let pid: pid_t

    public struct SpawnError: Error, CustomStringConvertible { public var description: String }

    /// Spawns `executable` with `arguments`, stdin from /dev/null, stdout and stderr appended
    /// to `logPath`, in the current environment. `newProcessGroup` false keeps the child in
    /// the caller's group, so a signal to the whole group (a test runner killed by `timeout`)
    /// reaches it too instead of leaving it running.
    public static func spawn(executable: String, arguments: [String], logPath: String,
                             newProcessGroup: Bool = true) throws -> ChildProcess {
        var fa = posix_spawn_file_actions_t()
        var attr = posix_spawnattr_t()
        posix_spawn_file_actions_init(&fa)
        posix_spawnattr_init(&attr)
        defer { posix_spawn_file_actions_destroy(&fa); posix_spawnattr_destroy(&attr) }
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&fa, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&fa, 1, 2)
        var all = sigset_t(), none = sigset_t()
        sigfillset(&all)
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setpgroup(&attr, 0)
        let flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | (newProcessGroup ? POSIX_SPAWN_SETPGROUP : 0)
        posix_spawnattr_setflags(&attr, Int16(flags))
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in argv { free(p) }; for p in envp { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &fa, &attr, argv, envp)
        guard rc == 0 else { throw SpawnError(description: "posix_spawn \(executable): \(String(cString: strerror(rc)))") }
        return ChildProcess(pid: pid)
    }

    /// The exit status if the process has ended (and reaps it), nil while it runs.
    /// Killed by a signal reports 128 + signal, as shells do.
    public func exitStatus() -> Int32? {
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        if r == 0 { return nil }
        if r < 0 { return errno == ECHILD ? -1 : nil }
        let sig = status & 0x7f
        return sig == 0 ? (status >> 8) & 0xff : 128 + sig
    }

    public func signal(_ sig: Int32) { kill(pid, sig) }

    /// Blocks until the process ends (reaping it) and returns its status as `exitStatus()`,
    /// or nil if it still runs after `timeout`. Polls `waitpid(WNOHANG)`: unlike Foundation's
    /// `Process.waitUntilExit`, which can park a thread forever when called off the main
    /// thread under load (it depends on a run loop seeing the termination), this cannot miss
    /// an exit. Meant for tests and shutdown paths, not for hot loops.
    public func waitForExit(timeout: Duration = .seconds(60)) -> Int32? {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            if let status = exitStatus() { return status }
            if ContinuousClock.now >= deadline { return nil }
            usleep(5_000)
        }
    }
}

/// Pids of the broker processes this process started and has not reaped, readable without
/// the `LocalCluster` actor: a forced exit (a second Ctrl-C while quitting) runs on the
/// signal queue, cannot wait for the actor (which may be busy stopping a hung broker), and
/// must still not leave brokers running.
final class ChildRegistry: @unchecked Sendable {
    static let shared = ChildRegistry()
    private let lock = NSLock()
    private var pids: Set<pid_t> = []
    func add(_ pid: pid_t) { lock.withLock { _ = pids.insert(pid) } }
    func remove(_ pid: pid_t) { lock.withLock { _ = pids.remove(pid) } }
    var all: Set<pid_t> { lock.withLock { pids } }
}
