// The generator is written in issue 2.
print("samsa-protocol-generator")
