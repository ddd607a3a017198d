// A name held in the network namespace's abstract AF_UNIX namespace: a way for processes of one
// namespace to claim something (our ICMP identifier) without files, privileges or clean-up. The
// name is free again as soon as the socket closes, however the holder ends.
#pragma once

#include <string>

namespace mtr {

// Binds a close-on-exec AF_UNIX datagram socket to the abstract name "\0" + name. Returns the fd
// (>= 0) that holds it, or -errno: -EADDRINUSE when another socket holds the name, -ENAMETOOLONG
// when it does not fit a sockaddr_un.
int HoldAbstractName(const std::string& name);

}  // namespace mtr
