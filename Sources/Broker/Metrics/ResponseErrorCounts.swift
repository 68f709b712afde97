import KafkaProtocol

// Error codes per response for `kafka_network_requestmetrics_errors_total`, as Kafka's
// `AbstractResponse.errorCounts()`: one count per partition (or topic) for the APIs that
// answer per item, the top-level code for the others. APIs listed nowhere here count nothing.

extension ApiVersionsResponse: TopLevelErrorCode {}
extension JoinGroupResponse: TopLevelErrorCode {}
extension SyncGroupResponse: TopLevelErrorCode {}
extension HeartbeatResponse: TopLevelErrorCode {}
extension LeaveGroupResponse: TopLevelErrorCode {}
extension InitProducerIdResponse: TopLevelErrorCode {}
extension DescribeClusterResponse: TopLevelErrorCode {}
extension ListGroupsResponse: TopLevelErrorCode {}
extension OffsetDeleteResponse: TopLevelErrorCode {}
extension OffsetFetchResponse: TopLevelErrorCode {}
extension FindCoordinatorResponse: TopLevelErrorCode {}

extension ProduceHandler {
    public static func countErrors(_ response: ProduceResponse, into timing: RequestTiming) {
        for t in response.responses { for p in t.partitionResponses { timing.countError(p.errorCode) } }
    }
}

extension FetchHandler {
    public static func countErrors(_ response: FetchResponse, into timing: RequestTiming) {
        timing.countError(response.errorCode)
        for t in response.responses { for p in t.partitions { timing.countError(p.errorCode) } }
    }
}

extension MetadataHandler {
    public static func countErrors(_ response: MetadataResponse, into timing: RequestTiming) {
        for t in response.topics { timing.countError(t.errorCode) }
    }
}

extension ListOffsetsHandler {
    public static func countErrors(_ response: ListOffsetsResponse, into timing: RequestTiming) {
        for t in response.topics { for p in t.partitions { timing.countError(p.errorCode) } }
    }
}

extension OffsetCommitHandler {
    public static func countErrors(_ response: OffsetCommitResponse, into timing: RequestTiming) {
        for t in response.topics { for p in t.partitions { timing.countError(p.errorCode) } }
    }
}
