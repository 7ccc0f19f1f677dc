using System.Net;
using System.Net.Sockets;
using AotMilter.Hosting;
using AotMilter.Mta;
using AotMilter.Protocol;

namespace AotMilter.Server.Tests;

/// <summary>
/// A callback's network client can have its socket read by the callback's I/O thread: the reply is read there and
/// resumes the callback there, with no other thread involved; closing the socket takes it out of the loop first.
/// </summary>
public class IoThreadTests
{
    [Fact]
    public async Task AWatchedSocketIsReadByTheCallbacksIoThreadAndItsReplyResumesTheCallbackThere()
    {
        Assert.Null(IoThread.Current);
        using var service = new Service();
        var seen = new Seen();
        await using TestServer server = TestServer.Start(Register(() => new AskingTheService(service, seen)));
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();

        // The callback's verdict is the service's answer: the reply was read and the callback resumed.
        using Socket peer = await HeloAnsweredByTheServiceAsync(mta, service);
        Assert.NotEqual(0, seen.Callback);
        Assert.Equal(seen.Callback, seen.Reader);
        Assert.Equal(seen.Callback, seen.Resumed);
        Assert.NotEqual(Environment.CurrentManagedThreadId, seen.Callback);

        // Closed by the callback: the peer sees the end, and the loop goes on serving the connection.
        Assert.Equal("", await service.ReadAsync(peer));
        Assert.True(seen.Client!.SafeHandle.IsClosed);
        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync("<a@example.org>"));
    }

    [Fact]
    public async Task WatchAndCloseFromAnotherThreadTakeEffectOnTheIoThreadAndTheLoopServesNewConnectionsAfterwards()
    {
        using var service = new Service();
        var seen = new Seen();
        await using TestServer server = TestServer.Start(Register(() => new AskingTheService(service, seen, fromAnotherThread: true)));
        for (int round = 0; round < 3; round++)
        {
            await using MilterClient mta = await server.ConnectAndNegotiateAsync();
            using Socket peer = await HeloAnsweredByTheServiceAsync(mta, service);
            Assert.Equal(seen.Callback, seen.Reader);
            Assert.Equal("", await service.ReadAsync(peer));
            Assert.True(SpinWait.SpinUntil(() => seen.Client!.SafeHandle.IsClosed, TimeSpan.FromSeconds(5)), "Close did not dispose the socket");

            // The closed descriptor's number goes to the next connection: the loop must serve it, not drop it.
            Assert.Equal(MilterReply.Continue, await mta.MailFromAsync("<a@example.org>"));
            await mta.QuitAsync();
        }
    }

    [Fact]
    public async Task AnActionForBeforeWaitingRunsOnceOnTheIoThreadAfterTheCallbackNotInsideIt()
    {
        var seen = new Deferred();
        await using TestServer server = TestServer.Start(Register(() => new DeferringAtHelo(seen)));
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        Assert.Equal(MilterReply.Continue, await mta.HeloAsync("client.example.org"));

        // One action asked for by the callback itself, one from another thread: both run on the callback's I/O
        // thread, neither inside the call that asked for it.
        Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref seen.Runs) == 2, TimeSpan.FromSeconds(5)), $"{seen.Runs} of 2 actions ran");
        Assert.Equal(0, seen.RunsWhenAsked);
        Assert.NotEqual(0, seen.Callback);
        Assert.Equal(new[] { seen.Callback, seen.Callback }, seen.RanOn);

        // Once each: the loop's next wake-ups do not run them again.
        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync("<a@example.org>"));
        Assert.Equal(MilterReply.Continue, await mta.RcptToAsync("<b@example.org>"));
        Assert.Equal(2, Volatile.Read(ref seen.Runs));
    }

    /// <summary>Sends HELO, answers the filter's "ping" with "pong" and checks the verdict that follows; returns the service's side.</summary>
    private static async Task<Socket> HeloAnsweredByTheServiceAsync(MilterClient mta, Service service)
    {
        Task<MilterReply> helo = mta.HeloAsync("client.example.org");
        Socket peer = await service.AcceptAsync();
        Assert.Equal("ping", await service.ReadAsync(peer));
        await peer.SendAsync("pong"u8.ToArray());
        Assert.Equal(MilterReply.Reject, await helo.WaitAsync(TimeSpan.FromSeconds(10)));
        return peer;
    }

    private static MilterRegistration Register(Func<FilterDispatcher> create)
        => new("service", "", "service", ProtocolFlags.None, ActionFlags.None, create);

    private sealed class Seen
    {
        public int Callback;
        public int Reader;
        public int Resumed;
        public Socket? Client;
    }

    /// <summary>Asks the service at HELO and answers its verdict: reject when it said "pong".</summary>
    private sealed class AskingTheService(Service service, Seen seen, bool fromAnotherThread = false) : FilterDispatcher
    {
        public override ValueTask<Verdict> HeloAsync(ReadOnlySpan<byte> name, MilterContext context) => AskAsync();

        private async ValueTask<Verdict> AskAsync()
        {
            IoThread io = IoThread.Current ?? throw new InvalidOperationException("a callback runs on an I/O thread");
            seen.Callback = Environment.CurrentManagedThreadId;
            var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            client.Connect(service.EndPoint);
            client.Blocking = false;
            seen.Client = client;
            var answer = new TaskCompletionSource<string>();
            var received = new List<byte>();
            void OnReadable()
            {
                seen.Reader = Environment.CurrentManagedThreadId;
                byte[] buffer = new byte[16];
                int n = client.Receive(buffer, SocketFlags.None, out SocketError error);
                if (error == SocketError.Success && n > 0)
                {
                    received.AddRange(buffer.AsSpan(0, n));
                    if (received.Count >= 4)
                    {
                        answer.TrySetResult(System.Text.Encoding.ASCII.GetString([.. received]));
                    }
                }
            }

            if (fromAnotherThread)
            {
                await Task.Run(() => io.Watch(client, OnReadable)).ConfigureAwait(false);
            }
            else
            {
                io.Watch(client, OnReadable);
            }

            client.Send("ping"u8);
            string said = await answer.Task.ConfigureAwait(false);
            seen.Resumed = Environment.CurrentManagedThreadId;
            if (fromAnotherThread)
            {
                await Task.Run(() => io.Close(client)).ConfigureAwait(false);
            }
            else
            {
                io.Close(client);
            }

            return said == "pong" ? Verdict.Reject : Verdict.TempFail;
        }
    }

    private sealed class Deferred
    {
        public int Callback;
        public int Runs;
        public int RunsWhenAsked = -1;
        public readonly List<int> RanOn = [];
    }

    /// <summary>Asks its I/O thread at HELO for two actions before it waits: one from the callback, one from another thread.</summary>
    private sealed class DeferringAtHelo(Deferred seen) : FilterDispatcher
    {
        public override ValueTask<Verdict> HeloAsync(ReadOnlySpan<byte> name, MilterContext context) => DeferAsync();

        private async ValueTask<Verdict> DeferAsync()
        {
            IoThread io = IoThread.Current ?? throw new InvalidOperationException("a callback runs on an I/O thread");
            seen.Callback = Environment.CurrentManagedThreadId;
            io.BeforeWaiting(Ran);
            seen.RunsWhenAsked = Volatile.Read(ref seen.Runs);
            await Task.Run(() => io.BeforeWaiting(Ran)).ConfigureAwait(false);
            return Verdict.Continue;
        }

        private void Ran()
        {
            lock (seen.RanOn)
            {
                seen.RanOn.Add(Environment.CurrentManagedThreadId);
            }

            Interlocked.Increment(ref seen.Runs);
        }
    }

    /// <summary>A real TCP service the filter talks to; the test plays its side.</summary>
    private sealed class Service : IDisposable
    {
        private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

        public Service()
        {
            _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _listener.Listen();
        }

        public EndPoint EndPoint => _listener.LocalEndPoint!;

        public async Task<Socket> AcceptAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            return await _listener.AcceptAsync(timeout.Token);
        }

        /// <summary>Up to four bytes, or "" at the end of the stream.</summary>
        public async Task<string> ReadAsync(Socket peer)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            byte[] buffer = new byte[4];
            int total = 0;
            while (total < buffer.Length)
            {
                int n = await peer.ReceiveAsync(buffer.AsMemory(total), SocketFlags.None, timeout.Token);
                if (n == 0)
                {
                    break;
                }

                total += n;
            }

            return System.Text.Encoding.ASCII.GetString(buffer, 0, total);
        }

        public void Dispose() => _listener.Dispose();
    }
}
