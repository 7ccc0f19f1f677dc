using AotMilter.Server.Interop;

namespace AotMilter.Server;

/// <summary>A socket call on a connection failed with <see cref="Errno"/>: that connection closes, nothing else.</summary>
internal sealed class ConnectionIOException(int errno) : IOException(Libc.Describe(errno))
{
    public int Errno { get; } = errno;
}
