using System.Buffers.Binary;
using System.Net.Sockets;
using AotMilter.Mta;
using AotMilter.Protocol;

namespace AotMilter.Testing.Tests;

/// <summary>
/// The kit against a hand-scripted milter on a unix socket (what <c>aotmilter test</c> does with any milter): the MTA
/// rules that no filter written with this project can break, checked on the wire.
/// </summary>
public sealed class ScriptedMilterTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("aotm-kit-").FullName;

    [Fact]
    public async Task PostfixTakesAQuarantineAtAnyStage()
    {
        await using var milter = ScriptedMilter.Start(Socket, (command, reply) =>
        {
            if (command == 'M')
            {
                reply('q', "held at MAIL\0");
            }
        });
        var mta = TestMta.ForSocket($"unix:{Socket}", MtaProfile.Postfix);

        MessageResult result = await mta.SendAsync("Subject: x\r\n\r\nbody\r\n", "a@example.org", "b@example.net");

        Assert.Equal(MessageOutcome.Quarantined, result.Outcome);
        Assert.Equal("held at MAIL", result.QuarantineReason);
    }

    [Fact]
    public async Task SendmailTakesAQuarantineOnlyAtEndOfMessage()
    {
        await using var milter = ScriptedMilter.Start(Socket, (command, reply) =>
        {
            if (command == 'M')
            {
                reply('q', "held at MAIL\0");
            }
        });
        var mta = TestMta.ForSocket($"unix:{Socket}", MtaProfile.Sendmail);

        var error = await Assert.ThrowsAsync<MilterProtocolException>(() => mta.SendAsync("Subject: x\r\n\r\nbody\r\n", "a@example.org", "b@example.net"));
        Assert.Contains("'q'", error.Message);
    }

    [Theory]
    [InlineData(MtaKind.Postfix, true)]
    [InlineData(MtaKind.Sendmail, false)]
    public async Task ProgressOutsideEndOfMessageIsOnlyAcceptedByPostfix(MtaKind kind, bool accepted)
    {
        await using var milter = ScriptedMilter.Start(Socket, (command, reply) =>
        {
            if (command == 'H')
            {
                reply('p', "");
            }
        });
        var mta = TestMta.ForSocket($"unix:{Socket}", kind == MtaKind.Postfix ? MtaProfile.Postfix : MtaProfile.Sendmail);

        Task<MessageResult> send = mta.SendAsync("Subject: x\r\n\r\nbody\r\n", "a@example.org", "b@example.net");

        if (accepted)
        {
            Assert.Equal(1, (await send).Stages.Count(s => s.Stage == MilterEvent.Helo));
        }
        else
        {
            var error = await Assert.ThrowsAsync<MilterProtocolException>(() => send);
            Assert.Contains("only at end of message", error.Message);
        }
    }

    private string Socket => Path.Combine(_directory, "m.sock");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>
    /// A milter that negotiates version 6 with all actions and no flags, answers every event with continue, and lets
    /// the test send extra frames before that answer.
    /// </summary>
    private sealed class ScriptedMilter : IAsyncDisposable
    {
        private readonly Socket _listener;
        private readonly Task _serving;

        private ScriptedMilter(Socket listener, Action<char, Action<char, string>> script)
        {
            _listener = listener;
            _serving = Task.Run(() => ServeAsync(script));
        }

        public static ScriptedMilter Start(string path, Action<char, Action<char, string>> script)
        {
            var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(path));
            listener.Listen();
            return new ScriptedMilter(listener, script);
        }

        public async ValueTask DisposeAsync()
        {
            _listener.Dispose();
            await Task.WhenAny(_serving, Task.Delay(2000));
        }

        private async Task ServeAsync(Action<char, Action<char, string>> script)
        {
            using Socket connection = await _listener.AcceptAsync();
            await using var stream = new NetworkStream(connection);
            byte[] header = new byte[5];
            while (true)
            {
                if (!await ReadExactlyAsync(stream, header))
                {
                    return;
                }

                int length = (int)BinaryPrimitives.ReadUInt32BigEndian(header) - 1;
                byte[] payload = new byte[length];
                await stream.ReadExactlyAsync(payload);
                char command = (char)header[4];
                var frames = new List<byte[]>();
                void Reply(char letter, string data) => frames.Add(Frame(letter, System.Text.Encoding.UTF8.GetBytes(data)));
                switch (command)
                {
                    case 'O':
                        byte[] negotiation = new byte[12];
                        BinaryPrimitives.WriteUInt32BigEndian(negotiation, 6);
                        BinaryPrimitives.WriteUInt32BigEndian(negotiation.AsSpan(4), (uint)ActionFlags.AllVersion6 & ~(uint)ActionFlags.SetSymbolList);
                        frames.Add(Frame('O', negotiation));
                        break;
                    case 'D' or 'A':
                        break;
                    case 'Q':
                        return;
                    default:
                        script(command, Reply);
                        Reply('c', "");
                        break;
                }

                foreach (byte[] frame in frames)
                {
                    await stream.WriteAsync(frame);
                }
            }
        }

        private static async Task<bool> ReadExactlyAsync(Stream stream, byte[] buffer)
        {
            try
            {
                await stream.ReadExactlyAsync(buffer);
                return true;
            }
            catch (EndOfStreamException)
            {
                return false;
            }
        }

        private static byte[] Frame(char letter, byte[] data)
        {
            byte[] frame = new byte[5 + data.Length];
            BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)data.Length + 1);
            frame[4] = (byte)letter;
            data.CopyTo(frame, 5);
            return frame;
        }
    }
}
