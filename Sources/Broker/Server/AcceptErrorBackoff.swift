#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import NIOCore

/// On a listening channel: when `accept` fails because the process (EMFILE) or the system
/// (ENFILE) is out of descriptors, or the kernel is out of memory (ENOBUFS/ENOMEM), stop
/// accepting for `pause` and say so once, then try again.
///
/// Why it is needed although NIO adds its own `AcceptBackoffHandler`: after a failed accept
/// NIO's server channel keeps its read pending and stays registered for readability, and the
/// pending connection keeps the listening socket readable, so the event loop wakes, fails to
/// accept, and wakes again at once: 100 % CPU for as long as the connection waits in the backlog,
/// even after the client gave up (issue 9, item 5). `AcceptBackoffHandler` only delays the next
/// `read()`, which never comes in that state. Turning `autoRead` off unregisters the socket from
/// the selector; turning it back on re-registers it and the backlog is accepted as soon as
/// descriptors are free again.
final class AcceptErrorBackoff: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = Channel

    private let logger: Logger
    private let pause: TimeAmount
    private var paused = false
    private var failures = 0

    init(logger: Logger, pause: TimeAmount = .seconds(1)) {
        self.logger = logger
        self.pause = pause
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard let io = error as? IOError, [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(io.errnoCode) else {
            context.fireErrorCaught(error)
            return
        }
        failures += 1
        guard !paused else { return }
        paused = true
        logger.error("Cannot accept connections: \(io) (descriptors in use: see the open-file limit logged at start-up); not accepting for \(pause.nanoseconds / 1_000_000) ms")
        try? context.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: false)
        let channel = context.channel
        context.eventLoop.assumeIsolated().scheduleTask(in: pause) { [self] in
            paused = false
            if channel.isActive { try? channel.syncOptions?.setOption(ChannelOptions.autoRead, value: true) }
        }
    }
}
