import KafkaProtocol
import LogStorage
import Logging
import NIOCore
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One piece of a response as the connection task hands it to the channel: encoded bytes, or
/// record batches still in their segment file (a fetch answered with a ``RecordsSplice``).
enum ResponsePart: Sendable {
    case bytes(ByteBuffer)
    case file(LogSlice)

    /// The pieces of an encoded frame whose spliced records sit between its bytes.
    static func pieces(of frame: ByteBuffer, cuts: [RecordsSplice.Cut]) -> [ResponsePart] {
        var parts: [ResponsePart] = []
        parts.reserveCapacity(cuts.count * 2 + 1)
        var start = frame.readerIndex
        for cut in cuts {
            if cut.position > start {
                parts.append(.bytes(frame.getSlice(at: start, length: cut.position - start)!))
            }
            // Only the Fetch handler makes placeholders, and always for a LogSlice.
            parts.append(.file(cut.payload as! LogSlice))
            start = cut.position
        }
        if frame.writerIndex > start {
            parts.append(.bytes(frame.getSlice(at: start, length: frame.writerIndex - start)!))
        }
        return parts
    }
}

/// The last handler of a connection's pipeline: turns ``ResponsePart``s into what the socket
/// writes. A file part becomes a NIO `FileRegion` on its own descriptor (a `dup` of the
/// segment's, opened here on the event loop and closed when the write completes or fails), which
/// NIO sends with `sendfile`: the records never enter user space (Kafka's `FileRecords.writeTo`).
/// On an SSL listener the bytes must pass through TLS, so a file part there (never made today:
/// the splice is only bound on listeners without TLS) is read into memory instead.
///
/// A segment truncated under a response (a replica truncating its log while an old fetch
/// answer is still being sent) would make `sendfile` return 0 bytes forever, and NIO would retry
/// without end. So the file's size is checked before the write and every second while it is
/// pending; if it no longer covers the slice, the connection is closed with a log line, as
/// Kafka closes it ("Size of FileRecords has been truncated during write"). The client retries
/// on a new connection.
final class ResponsePartWriter: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = ResponsePart
    typealias OutboundOut = IOData

    private let sendsFiles: Bool
    private let logger: Logger
    private let counter: SentFileRegions?

    init(sendsFiles: Bool, logger: Logger, counter: SentFileRegions? = nil) {
        self.sendsFiles = sendsFiles
        self.logger = logger
        self.counter = counter
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .bytes(let bytes):
            context.write(wrapOutboundOut(.byteBuffer(bytes)), promise: promise)
        case .file(let slice):
            guard sendsFiles, let fd = slice.duplicateFileDescriptor() else {
                do {
                    context.write(wrapOutboundOut(.byteBuffer(try slice.readBytes())), promise: promise)
                } catch {
                    fail(context: context, promise: promise, "could not read \(slice.path) at \(slice.position): \(error)")
                }
                return
            }
            let handle = NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: fd)
            let end = Int(slice.position) + slice.length
            guard Self.fileSize(fd) >= end else {
                try? handle.close()
                fail(context: context, promise: promise, Self.truncatedMessage(slice))
                return
            }
            let region = FileRegion(fileHandle: handle, readerIndex: Int(slice.position), endIndex: end)
            let channel = context.channel
            let logger = self.logger
            let watchdog = context.eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { task in
                guard Self.fileSize(fd) < end else { return }
                task.cancel()
                logger.warning("Closing connection: \(Self.truncatedMessage(slice))")
                channel.close(promise: nil)
            }
            let written = context.eventLoop.makePromise(of: Void.self)
            let counter = self.counter
            written.futureResult.whenComplete { result in
                if case .success = result { counter?.add(slice.length) }
                // On the event loop, as the watchdog runs: it cannot see the descriptor closed.
                watchdog.cancel()
                try? handle.close()
            }
            if let promise { written.futureResult.cascade(to: promise) }
            context.write(wrapOutboundOut(.fileRegion(region)), promise: written)
        }
    }

    private func fail(context: ChannelHandlerContext, promise: EventLoopPromise<Void>?, _ message: String) {
        logger.warning("Closing connection: \(message)")
        promise?.fail(ChannelError.ioOnClosedChannel)
        context.close(promise: nil)
    }

    static func truncatedMessage(_ slice: LogSlice) -> String {
        "segment \(slice.path) was truncated under a fetch answer (\(slice.length) bytes at \(slice.position))"
    }

    /// The file's current size (-1 if it cannot be read, which fails every check).
    static func fileSize(_ fd: CInt) -> Int {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return -1 }
        return Int(st.st_size)
    }
}

/// File regions a listener sent whole, and their bytes (what zero copy carried; for tests and
/// the benchmark's before/after check).
final class SentFileRegions: Sendable {
    private let state = Mutex((regions: 0, bytes: 0))
    func add(_ bytes: Int) { state.withLock { $0.regions += 1; $0.bytes += bytes } }
    var regions: Int { state.withLock { $0.regions } }
    var bytes: Int { state.withLock { $0.bytes } }
}
