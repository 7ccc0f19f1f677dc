using static AotMilter.Protocol.Tests.TestBytes;

namespace AotMilter.Protocol.Tests;

/// <summary>The hot paths allocate nothing once warm: measured on the current thread around a loop.</summary>
public class AllocationTests
{
    private const int Iterations = 10_000;

    private static readonly byte[][] MacroPackets =
    [
        Of("Cj\0mx.example.org\0{daemon_name}\0smtpd\0{client_addr}\0192.0.2.1\0"),
        Of("H{tls_version}\0TLSv1.3\0{cipher}\0TLS_AES_256_GCM_SHA384\0"),
        Of("M{mail_addr}\0alice@example.org\0{auth_authen}\0alice\0i\0ABCDEF123\0"),
        Of("R{rcpt_addr}\0bob@example.org\0{rcpt_mailer}\0local\0"),
        Of("R{rcpt_addr}\0carol@example.org\0{rcpt_mailer}\0smtp\0"),
        Of("Ei\0ABCDEF123\0{msg_id}\0<1@example.org>\0"),
        Of("L"),
    ];

    [Fact]
    public void StoringAndLookingUpMacrosAllocatesNothingAfterWarmUp()
    {
        var store = new MacroStore();
        int found = RunMacroLoop(store, 100);

        long before = GC.GetAllocatedBytesForCurrentThread();
        found += RunMacroLoop(store, Iterations);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.Equal((100 + Iterations) * 5, found);
    }

    private static int RunMacroLoop(MacroStore store, int iterations)
    {
        int found = 0;
        for (int i = 0; i < iterations; i++)
        {
            foreach (byte[] packet in MacroPackets)
            {
                store.Store(MacroReader.Parse(packet));
            }

            found += store.TryGet("j", out _) ? 1 : 0;
            found += store.TryGet("{i}", out _) ? 1 : 0;
            found += store.TryGet("rcpt_addr", out _) ? 1 : 0;
            found += store.TryGet("{auth_authen}", out _) ? 1 : 0;
            found += store.TryGet(MacroStage.Helo, "cipher", out _) ? 1 : 0;
            found += store.TryGet("{not_there}", out _) ? 1 : 0;
        }

        return found;
    }

    [Fact]
    public void ReadingAFrameAndParsingAHeaderAllocatesNothing()
    {
        byte[] stream = Concat(Frame('L', "Subject\0A fairly ordinary subject line\0"), Frame('L', "From\0<a@example.org>\0"), Frame('N'));
        int total = RunFrameLoop(stream, 100);

        long before = GC.GetAllocatedBytesForCurrentThread();
        total += RunFrameLoop(stream, Iterations);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.Equal((100 + Iterations) * ("Subject".Length + "A fairly ordinary subject line".Length + "From".Length + "<a@example.org>".Length), total);
    }

    private static int RunFrameLoop(byte[] stream, int iterations)
    {
        int total = 0;
        for (int i = 0; i < iterations; i++)
        {
            ReadOnlySpan<byte> pending = stream;
            while (MilterFrameReader.TryReadFrame(pending, 1024 * 1024, out MilterFrame frame, out int length, out _))
            {
                if (frame.Command == (byte)MilterCommand.Header)
                {
                    HeaderCommand header = HeaderCommand.Parse(frame.Payload);
                    total += header.Name.Length + header.Value.Length;
                }

                pending = pending[length..];
            }
        }

        return total;
    }

    [Fact]
    public void WritingReplyFramesIntoAWarmBufferAllocatesNothing()
    {
        var output = new ByteBufferWriter(64);
        WriteReplies(output, 100);

        long before = GC.GetAllocatedBytesForCurrentThread();
        WriteReplies(output, Iterations);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
    }

    private static void WriteReplies(ByteBufferWriter output, int iterations)
    {
        for (int i = 0; i < iterations; i++)
        {
            output.Reset();
            MilterFrameWriter.WriteEmpty(output, (byte)MilterResponse.Continue);
            MilterFrameWriter.WriteStrings(output, (byte)MilterResponse.AddHeader, "X-Checked", "yes");
            MilterFrameWriter.WriteIndexedStrings(output, (byte)MilterResponse.ChangeHeader, 1, "Subject", "[SPAM] hello");
        }
    }
}
