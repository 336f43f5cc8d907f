fn main() {
    std::process::exit(shipgate::run(std::env::args_os()));
}
