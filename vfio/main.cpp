// porthole-vfio: the program is run_cli on the real system.
#include <iostream>
#include <string>
#include <vector>

#include "porthole/vfio/cli.hpp"

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    return porthole::vfio::run_cli(args, std::cout, std::cerr);
}
