/// Registers the group coordinator's handlers: FindCoordinator, JoinGroup, Heartbeat,
/// LeaveGroup, SyncGroup, DescribeGroups, ListGroups, OffsetCommit, OffsetFetch,
/// DeleteGroups and OffsetDelete. broker-core calls this before `registerApiVersions()`.
public func registerGroupHandlers(into registry: inout HandlerRegistry, coordinator: GroupCoordinator) {
    registry.register(OffsetCommitHandler(coordinator: coordinator))
    registry.register(OffsetFetchHandler(coordinator: coordinator))
    registry.register(FindCoordinatorHandler(coordinator: coordinator))
    registry.register(JoinGroupHandler(coordinator: coordinator))
    registry.register(HeartbeatHandler(coordinator: coordinator))
    registry.register(LeaveGroupHandler(coordinator: coordinator))
    registry.register(SyncGroupHandler(coordinator: coordinator))
    registry.register(DescribeGroupsHandler(coordinator: coordinator))
    registry.register(ListGroupsHandler(coordinator: coordinator))
    registry.register(DeleteGroupsHandler(coordinator: coordinator))
    registry.register(OffsetDeleteHandler(coordinator: coordinator))
}
