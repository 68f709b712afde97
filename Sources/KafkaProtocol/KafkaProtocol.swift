/// The `KafkaProtocol` module. See DESIGN.md for its place in the layering.
public enum KafkaProtocolModule {}
