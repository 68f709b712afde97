import NIOCore
import Synchronization

/// What all connections together may hold in requests read from their sockets but not yet
/// answered: Kafka's `queued.max.requests` (requests read but not yet being handled) and
/// `queued.max.request.bytes` (bytes of requests read and not yet answered; Kafka's memory pool).
///
/// Why: every connection reads ahead (pipelining), and a request frame may be up to
/// `socket.request.max.bytes` (100 MiB). One client pipelining twelve 95 MB produce requests
/// behind a parked Fetch took the broker from 31 MB to 1.14 GB (issue 9, item 7). With a budget,
/// a connection whose next request does not fit stops being read (its socket fills and TCP pushes
/// back on the client) until answered requests give memory back.
///
/// Admission is Kafka's non-strict memory pool: a request is admitted while any byte budget is
/// left, even if it is larger than what is left, so a single frame larger than the whole budget
/// still gets in (alone), and the overshoot is at most one frame. The total held is therefore at
/// most `maxBytes + socket.request.max.bytes`.
///
/// Thread-safe (a mutex; waiters are called outside it).
public final class RequestQueueBudget: Sendable {
    /// `queued.max.requests`.
    public let maxRequests: Int
    /// `queued.max.request.bytes`; nil: no byte limit.
    public let maxBytes: Int?

    private struct State {
        var requests = 0
        var bytes = 0
        var waiters: [UInt64: @Sendable () -> Void] = [:]
        var nextWaiter: UInt64 = 1
        var pauses = 0
    }
    private let state = Mutex(State())

    public init(maxRequests: Int, maxBytes: Int?) {
        self.maxRequests = max(1, maxRequests)
        self.maxBytes = maxBytes.map { max(1, $0) }
    }

    /// Requests read and not yet taken up by their connection.
    public var queuedRequests: Int { state.withLock { $0.requests } }
    /// Bytes of requests read and not yet answered.
    public var queuedBytes: Int { state.withLock { $0.bytes } }
    /// How often a connection had to stop reading for lack of budget (for tests and figures).
    public var pauses: Int { state.withLock { $0.pauses } }

    /// Admits one request of `bytes` (counted as queued), or refuses when the budget is spent.
    func tryAcquire(bytes: Int) -> Bool {
        state.withLock { s in
            if s.requests >= maxRequests { s.pauses += 1; return false }
            if let maxBytes, s.bytes >= maxBytes { s.pauses += 1; return false }
            s.requests += 1
            s.bytes += bytes
            return true
        }
    }

    /// The connection started handling a request: it no longer counts as queued.
    func started() {
        let wake = state.withLock { s -> [@Sendable () -> Void] in
            s.requests -= 1
            return Self.takeWaiters(&s)
        }
        for w in wake { w() }
    }

    /// Gives back the bytes of an answered request (and `requests` still queued, when a
    /// connection closes with requests it never handled).
    func release(bytes: Int, requests: Int = 0) {
        guard bytes > 0 || requests > 0 else { return }
        let wake = state.withLock { s -> [@Sendable () -> Void] in
            s.bytes -= bytes
            s.requests -= requests
            return Self.takeWaiters(&s)
        }
        for w in wake { w() }
    }

    /// Calls `wake` once, the next time budget is given back. Returns an id for ``cancelWaiter(_:)``.
    func waitForBudget(_ wake: @escaping @Sendable () -> Void) -> UInt64 {
        state.withLock { s in
            let id = s.nextWaiter
            s.nextWaiter += 1
            s.waiters[id] = wake
            return id
        }
    }

    func cancelWaiter(_ id: UInt64) {
        _ = state.withLock { $0.waiters.removeValue(forKey: id) }
    }

    private static func takeWaiters(_ s: inout State) -> [@Sendable () -> Void] {
        guard !s.waiters.isEmpty else { return [] }
        defer { s.waiters.removeAll() }
        return Array(s.waiters.values)
    }
}

/// One connection's share of the ``RequestQueueBudget``: the frames it was admitted, in order,
/// so the connection task can give each back when handled and answered, and everything left
/// when the connection ends. Shared by the channel handler (event loop) and the task.
final class ConnectionBudget: Sendable {
    let budget: RequestQueueBudget
    private struct State {
        /// Sizes of admitted frames not yet taken up by the task (oldest first).
        var queued: [Int] = []
        /// Bytes of the frame being handled now.
        var inProgress = 0
        var closed = false
    }
    private let state = Mutex(State())

    init(budget: RequestQueueBudget) { self.budget = budget }

    /// Admission of the next frame (`bytes` including its size prefix).
    func tryAcquire(bytes: Int) -> Bool {
        // Checked and recorded under this connection's lock so a concurrent close releases it.
        state.withLock { s in
            if s.closed { return true }
            guard budget.tryAcquire(bytes: bytes) else { return false }
            s.queued.append(bytes)
            return true
        }
    }

    /// The task took the next frame: it is no longer queued.
    func startRequest() {
        let took = state.withLock { s -> Bool in
            guard !s.queued.isEmpty else { return false }
            s.inProgress = s.queued.removeFirst()
            return true
        }
        if took { budget.started() }
    }

    /// The task answered (or dropped) the frame it took.
    func finishRequest() {
        let bytes = state.withLock { s -> Int in
            defer { s.inProgress = 0 }
            return s.inProgress
        }
        budget.release(bytes: bytes)
    }

    /// The connection ended: everything it still holds goes back.
    func close() {
        let (bytes, requests) = state.withLock { s -> (Int, Int) in
            guard !s.closed else { return (0, 0) }
            s.closed = true
            let result = (s.queued.reduce(s.inProgress, +), s.queued.count)
            s.queued = []
            s.inProgress = 0
            return result
        }
        budget.release(bytes: bytes, requests: requests)
    }
}

/// Sits in front of the frame decoder and admits each request frame against the budget as soon
/// as its 4-byte size prefix arrives, before its body is read (as Kafka allocates from its memory
/// pool after reading the size). When a frame is not admitted, the bytes already received stay
/// here (at most one socket read) and the channel's `read()` calls are held back, so the socket
/// is not read again until budget is given back; then the frame is admitted and reading resumes.
final class RequestBudgetHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let connection: ConnectionBudget
    private let maxFrameBytes: Int
    /// Received bytes not yet passed on (waiting for a frame's admission, or a partial prefix).
    private var held: ByteBuffer?
    /// Bytes of the current admitted frame still to pass on.
    private var remainingInFrame = 0
    private var waitingForBudget = false
    private var waiterId: UInt64?
    /// A `read()` was held back while waiting.
    private var readHeld = false
    private var isActive = true

    init(connection: ConnectionBudget, maxFrameBytes: Int) {
        self.connection = connection
        self.maxFrameBytes = maxFrameBytes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if held == nil { held = bytes } else { held!.writeBuffer(&bytes) }
        passOn(context: context)
    }

    func read(context: ChannelHandlerContext) {
        if waitingForBudget { readHeld = true; return }
        context.read()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stop()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { stop() }

    private func stop() {
        isActive = false
        if let id = waiterId { connection.budget.cancelWaiter(id); waiterId = nil }
        held = nil
    }

    /// Passes on every byte of admitted frames; stops at a frame that is not admitted.
    private func passOn(context: ChannelHandlerContext) {
        guard var buffer = held else { return }
        held = nil
        while buffer.readableBytes > 0 {
            if remainingInFrame > 0 {
                let n = min(remainingInFrame, buffer.readableBytes)
                remainingInFrame -= n
                context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: n)!))
                continue
            }
            guard buffer.readableBytes >= 4, let size = buffer.getInteger(at: buffer.readerIndex, as: Int32.self) else { break }
            if size < 0 || Int(size) > maxFrameBytes {
                // Not a frame we will read: let the decoder reject it and close the connection.
                context.fireChannelRead(wrapInboundOut(buffer))
                return
            }
            let total = Int(size) + 4
            guard connection.tryAcquire(bytes: total) else {
                waitForBudget(context: context)
                break
            }
            remainingInFrame = total
        }
        if buffer.readableBytes > 0 { held = buffer }
    }

    private func waitForBudget(context: ChannelHandlerContext) {
        waitingForBudget = true
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        waiterId = connection.budget.waitForBudget {
            loop.execute {
                let (handler, context) = bound.value
                handler.budgetReturned(context: context)
            }
        }
        // Budget may have come back between the refusal and the registration.
        if connection.budget.queuedBytes < (connection.budget.maxBytes ?? Int.max),
           connection.budget.queuedRequests < connection.budget.maxRequests {
            loop.execute {
                let (handler, context) = bound.value
                handler.budgetReturned(context: context)
            }
        }
    }

    private func budgetReturned(context: ChannelHandlerContext) {
        guard isActive, waitingForBudget else { return }
        if let id = waiterId { connection.budget.cancelWaiter(id); waiterId = nil }
        waitingForBudget = false
        passOn(context: context)
        context.fireChannelReadComplete()
        if !waitingForBudget && readHeld {
            readHeld = false
            context.read()
        }
    }
}
