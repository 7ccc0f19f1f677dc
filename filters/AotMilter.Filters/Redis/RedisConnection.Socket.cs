using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace AotMilter.Filters.Redis;

/// <summary>
/// The socket side: a non-blocking socket driven with poll(2) rather than the runtime's socket engine. A reply wakes
/// this connection's reader thread directly, which completes the waiting caller: one wake-up per batch of replies,
/// where the engine would wake its epoll thread, then a thread-pool thread (whose workers spin before they sleep: on a
/// small machine that spinning cost more CPU than Redis's own work per message). Commands are sent by the caller's
/// thread as far as the socket takes them; the rest, rare, by a task that waits for the socket to drain.
/// </summary>
public sealed partial class RedisConnection
{
    private const int ReceiveChunk = 16 * 1024;

    // How long the reader waits in poll(2) before looking whether the connection was closed meanwhile.
    private const int ReaderPollMicroseconds = 500_000;

    /// <summary>Connects within <paramref name="timeout"/>, then starts the reader thread.</summary>
    public static async Task<RedisConnection> ConnectAsync(RedisEndpoint endpoint, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        EndPoint target = endpoint.UnixPath is not null ? endpoint.ToEndPoint()
            : new IPEndPoint(IPAddress.TryParse(endpoint.Host, out IPAddress? address) ? address : await ResolveAsync(endpoint.Host, timeout).ConfigureAwait(false), endpoint.Port);
        var socket = new Socket(target.AddressFamily, SocketType.Stream, endpoint.UnixPath is null ? ProtocolType.Tcp : ProtocolType.Unspecified);
        try
        {
            socket.Blocking = false;
            if (endpoint.UnixPath is null)
            {
                socket.NoDelay = true;
            }

            try
            {
                socket.Connect(target);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
            {
                // The connection is being made: wait until the socket is writable (connected) or failed, off the caller.
                await Task.Run(() => AwaitConnected(socket, timeout)).ConfigureAwait(false);
            }
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var connection = new RedisConnection(socket, endpoint.ToString());
        new Thread(connection.ReadReplies) { IsBackground = true, Name = "redis reader" }.Start();
        return connection;
    }

    private static async Task<IPAddress> ResolveAsync(string host, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        IPAddress[] addresses = await Dns.GetHostAddressesAsync(host, cancel.Token).ConfigureAwait(false);
        return addresses.Length > 0 ? addresses[0] : throw new RedisException($"{host} has no address");
    }

    private static void AwaitConnected(Socket socket, TimeSpan timeout)
    {
        if (!socket.Poll((int)Math.Min(int.MaxValue, timeout.TotalMicroseconds), SelectMode.SelectWrite))
        {
            throw new RedisException($"no connection within {timeout.TotalMilliseconds:0} ms") { Reason = "timeout" };
        }

        int error = (int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
        if (error != 0)
        {
            throw new SocketException(error);
        }
    }

    /// <summary>Sends what callers queued while their requests waited behind others (see <see cref="Send"/>).</summary>
    private void FlushQueued()
    {
        bool start;
        lock (_gate)
        {
            start = !_flushing && _outgoing.WrittenCount > 0;
            _flushing |= start;
        }

        if (start)
        {
            Flush();
        }
    }

    /// <summary>Sends what is queued, on the calling thread, as far as the socket takes it without blocking.</summary>
    private void Flush()
    {
        try
        {
            while (true)
            {
                lock (_gate)
                {
                    if (_sent == _sending.WrittenCount)
                    {
                        _sending.Clear();
                        _sent = 0;
                        if (_outgoing.WrittenCount == 0 || _failure is not null)
                        {
                            _flushing = false;
                            return;
                        }

                        (_sending, _outgoing) = (_outgoing, _sending);
                    }
                }

                int sent = _socket.Send(_sending.WrittenSpan[_sent..], SocketFlags.None, out SocketError error);
                if (error == SocketError.WouldBlock)
                {
                    // Redis is not reading as fast as we write: wait for room off the caller's thread.
                    _ = Task.Run(FlushWhenWritable);
                    return;
                }

                if (error != SocketError.Success)
                {
                    throw new SocketException((int)error);
                }

                _sent += sent;
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            Fail(ex);
        }
    }

    private void FlushWhenWritable()
    {
        try
        {
            while (!_socket.Poll(ReaderPollMicroseconds, SelectMode.SelectWrite))
            {
                if (!IsOpen)
                {
                    return;
                }
            }

            Flush();
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            Fail(ex);
        }
    }

    /// <summary>The reader thread: waits in poll(2), reads what came, completes the requests it answers.</summary>
    private void ReadReplies()
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(ReceiveChunk);
        int filled = 0;
        try
        {
            while (IsOpen)
            {
                if (!_socket.Poll(ReaderPollMicroseconds, SelectMode.SelectRead))
                {
                    continue;
                }

                if (filled == buffer.Length)
                {
                    // A reply larger than the buffer: grow, within the reply bound RespReader enforces.
                    byte[] larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, filled).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                int received = _socket.Receive(buffer.AsSpan(filled), SocketFlags.None, out SocketError error);
                if (error == SocketError.WouldBlock)
                {
                    continue;
                }

                if (error != SocketError.Success)
                {
                    throw new SocketException((int)error);
                }

                if (received == 0)
                {
                    Fail(new RedisException($"{Name} closed the connection"));
                    return;
                }

                filled += received;
                int used = Dispatch(buffer.AsSpan(0, filled));
                buffer.AsSpan(used, filled - used).CopyTo(buffer);
                filled -= used;
                FlushQueued();
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or RedisException)
        {
            Fail(ex);
        }
        catch (Exception ex)
        {
            // Nothing thrown may end the process: a continuation that threw is the caller's bug, not the daemon's end.
            Fail(new RedisException($"the reader of {Name} failed: {ex.Message}", ex));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
