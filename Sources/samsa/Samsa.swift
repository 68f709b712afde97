import SamsaCLI

@main
struct SamsaMain {
    static func main() async {
        await SamsaCommand.main()
    }
}
