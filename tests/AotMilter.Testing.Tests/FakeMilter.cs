using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using AotMilter.Mta;
using AotMilter.Protocol;

namespace AotMilter.Testing.Tests;

/// <summary>
/// The milter end of a real unix socket, scripted by the test: it reads what the client sends and writes whatever
/// frames the test wants, including wrong ones. Every read and write has a timeout.
/// </summary>
internal sealed class FakeMilter : IAsyncDisposable
{
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(10);

    private readonly Socket _socket;
    private readonly string _directory;
    private byte[] _buffer = new byte[1024];
    private int _length;

    private FakeMilter(Socket socket, string directory)
    {
        _socket = socket;
        _directory = directory;
    }

    /// <summary>A fake milter and a client connected to it through <see cref="MilterClient.ConnectAsync(string, TimeSpan?)"/>.</summary>
    public static async Task<(FakeMilter Milter, MilterClient Client)> StartAsync(TimeSpan? clientTimeout = null)
    {
        string directory = Path.Combine(Path.GetTempPath(), "aotm-fake-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, "fake.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        Task<Socket> accept = listener.AcceptAsync();
        MilterClient client = await MilterClient.ConnectAsync("unix:" + path, clientTimeout);
        Socket peer = await accept.WaitAsync(ReadTimeout);
        return (new FakeMilter(peer, directory), client);
    }

    /// <summary>Reads the next frame the client sent.</summary>
    public async Task<(char Command, byte[] Payload)> ReadAsync()
    {
        using var deadline = new CancellationTokenSource(ReadTimeout);
        while (true)
        {
            if (MilterFrameReader.TryReadFrame(_buffer.AsSpan(0, _length), int.MaxValue, out MilterFrame frame, out int consumed, out int required))
            {
                (char, byte[]) result = ((char)frame.Command, frame.Payload.ToArray());
                _buffer.AsSpan(consumed, _length - consumed).CopyTo(_buffer);
                _length -= consumed;
                return result;
            }

            if (required > _buffer.Length)
            {
                Array.Resize(ref _buffer, Math.Max(required, _buffer.Length * 2));
            }

            int n = await _socket.ReceiveAsync(_buffer.AsMemory(_length), SocketFlags.None, deadline.Token);
            if (n == 0)
            {
                throw new EndOfStreamException("the client closed the connection");
            }

            _length += n;
        }
    }

    /// <summary>Reads frames until one with <paramref name="command"/> arrives; returns the payload.</summary>
    public async Task<byte[]> ExpectAsync(char command)
    {
        (char c, byte[] payload) = await ReadAsync();
        Assert.Equal(command, c);
        return payload;
    }

    /// <summary>True when nothing more arrives within a short while (the client is not sending).</summary>
    public async Task<bool> IsQuietAsync(TimeSpan wait)
    {
        if (_length > 0)
        {
            return false;
        }

        using var deadline = new CancellationTokenSource(wait);
        try
        {
            int n = await _socket.ReceiveAsync(_buffer.AsMemory(_length), SocketFlags.None, deadline.Token);
            _length += n;
            return false;
        }
        catch (OperationCanceledException)
        {
            return true;
        }
    }

    public async Task SendAsync(params byte[][] frames)
    {
        using var deadline = new CancellationTokenSource(ReadTimeout);
        foreach (byte[] frame in frames)
        {
            await _socket.SendAsync(frame, SocketFlags.None, deadline.Token);
        }
    }

    public void Close() => _socket.Shutdown(SocketShutdown.Both);

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }

        return ValueTask.CompletedTask;
    }

    // ---- frames a milter sends

    public static byte[] Frame(char command, params byte[][] parts)
    {
        var writer = new ByteBufferWriter();
        MilterFrameWriter.Write(writer, (byte)command, parts.SelectMany(p => p).ToArray());
        return writer.WrittenSpan.ToArray();
    }

    public static byte[] Str(string s) => [.. Encoding.UTF8.GetBytes(s), 0];

    public static byte[] U32(uint value)
    {
        byte[] bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return bytes;
    }

    public static byte[] Negotiation(uint version, ActionFlags actions, ProtocolFlags protocol, params (MacroStage Stage, string Names)[] lists)
    {
        var writer = new ByteBufferWriter();
        byte[] encoded = lists.SelectMany(l => MilterFrameWriter.EncodeSymbolList(l.Stage, l.Names)).ToArray();
        MilterFrameWriter.WriteNegotiation(writer, new OptionNegotiation(version, actions, protocol), encoded);
        return writer.WrittenSpan.ToArray();
    }

    /// <summary>Answers the client's negotiation (which it reads first) and waits for the client to take the answer.</summary>
    public static async Task NegotiateAsync(FakeMilter milter, MilterClient client, ActionFlags actions, ProtocolFlags protocol,
        uint offeredVersion = 6, ProtocolFlags offeredProtocol = ProtocolFlags.AllVersion6)
    {
        Task<NegotiationResult> negotiate = client.NegotiateAsync(offeredVersion, ActionFlags.AllVersion6, offeredProtocol);
        await milter.ExpectAsync('O');
        await milter.SendAsync(Negotiation(Math.Min(offeredVersion, 6), actions, protocol));
        await negotiate;
    }
}
