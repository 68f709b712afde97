/// Registers the group coordinator's handlers: FindCoordinator, JoinGroup, Heartbeat,
/// LeaveGroup, SyncGroup, DescribeGroups, ListGroups, OffsetCommit, OffsetFetch,
/// DeleteGroups and OffsetDelete. broker-core calls this before `registerApiVersions()`.
/// `authorize` is the broker's ACL check (``BrokerServices/authorize(_:_:_:_:)``).
public func registerGroupHandlers(into registry: inout HandlerRegistry, coordinator: GroupCoordinator,
                                  authorize: @escaping AuthorizeCheck = allowEverything) {
    registry.register(OffsetCommitHandler(coordinator: coordinator, authorize: authorize))
    registry.register(OffsetFetchHandler(coordinator: coordinator, authorize: authorize))
    registry.register(FindCoordinatorHandler(coordinator: coordinator, authorize: authorize))
    registry.register(JoinGroupHandler(coordinator: coordinator, authorize: authorize))
    registry.register(HeartbeatHandler(coordinator: coordinator, authorize: authorize))
    registry.register(LeaveGroupHandler(coordinator: coordinator, authorize: authorize))
    registry.register(SyncGroupHandler(coordinator: coordinator, authorize: authorize))
    registry.register(DescribeGroupsHandler(coordinator: coordinator, authorize: authorize))
    registry.register(ListGroupsHandler(coordinator: coordinator, authorize: authorize))
    registry.register(DeleteGroupsHandler(coordinator: coordinator, authorize: authorize))
    registry.register(OffsetDeleteHandler(coordinator: coordinator, authorize: authorize))
}
