/// The handlers broker-core owns, registered in one place so the broker and the tests
/// advertise the same table. The group coordinator's handlers are added separately.
public enum KafkaBrokerHandlers {
    public static func register(into registry: inout HandlerRegistry, services: BrokerServices) {
        registry.register(ProduceHandler(services: services))
        registry.register(FetchHandler(services: services))
        registry.register(ListOffsetsHandler(services: services))
        registry.register(MetadataHandler(services: services))
        registry.register(CreateTopicsHandler(services: services))
        registry.register(DeleteTopicsHandler(services: services))
        registry.register(InitProducerIdHandler(services: services))
        registry.register(DeleteRecordsHandler(services: services))
        registry.register(OffsetForLeaderEpochHandler(services: services))
        registry.register(DescribeConfigsHandler(services: services))
        registry.register(AlterConfigsHandler(services: services))
        registry.register(IncrementalAlterConfigsHandler(services: services))
        registry.register(DescribeLogDirsHandler(services: services))
        registry.register(CreatePartitionsHandler(services: services))
        registry.register(DescribeClusterHandler(services: services))
        registry.register(SaslHandshakeHandler())
        registry.register(SaslAuthenticateHandler())
        registry.register(DescribeUserScramCredentialsHandler(services: services))
        registry.register(AlterUserScramCredentialsHandler(services: services))
        registry.register(DescribeAclsHandler(services: services))
        registry.register(CreateAclsHandler(services: services))
        registry.register(DeleteAclsHandler(services: services))
        registry.register(ElectLeadersHandler(services: services))
        registry.register(AlterPartitionReassignmentsHandler(services: services))
        registry.register(ListPartitionReassignmentsHandler(services: services))
    }
}
