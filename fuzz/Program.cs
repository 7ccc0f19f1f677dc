using System.Diagnostics;
using AotMilter.Fuzz;
using SharpFuzz;

// AotMilter.Fuzz TARGET            the target under afl-fuzz (SharpFuzz's fork server; run by fuzz.sh)
// AotMilter.Fuzz TARGET PATH...    replay inputs (files, or every file of a folder) outside afl: the outcome of each,
//                                  with the whole stack of a crash; exit 1 when any input crashes
// AotMilter.Fuzz capture DIR       write the frames target's seed conversations into DIR
var targets = new Dictionary<string, Target>(StringComparer.Ordinal)
{
    ["frames"] = FramesTarget.Run,
    ["mime"] = MimeTarget.Run,
    ["config"] = ConfigTarget.Run,
};

if (args.Length == 2 && args[0] == "capture")
{
    return await SeedCapture.RunAsync(args[1]);
}

if (args.Length == 0 || !targets.TryGetValue(args[0], out Target? target))
{
    Console.Error.WriteLine($"usage: AotMilter.Fuzz TARGET [INPUT...] | capture DIR   (targets: {string.Join(", ", targets.Keys)})");
    return 2;
}

if (args.Length == 1)
{
    Fuzzer.OutOfProcess.Run(stream =>
    {
        using var input = new MemoryStream();
        stream.CopyTo(input);
        target(input.GetBuffer().AsSpan(0, (int)input.Length));
    });
    return 0;
}

int crashes = 0;
foreach (string file in args[1..].SelectMany(p => Directory.Exists(p) ? Directory.GetFiles(p).Order(StringComparer.Ordinal).ToArray() : [p]))
{
    byte[] input = File.ReadAllBytes(file);
    var clock = Stopwatch.StartNew();
    try
    {
        target(input);
        Console.WriteLine($"{file}: ok ({clock.Elapsed.TotalMilliseconds:0.#} ms)");
    }
    catch (Exception ex)
    {
        crashes++;
        Console.WriteLine($"{file}: CRASH after {clock.Elapsed.TotalMilliseconds:0.#} ms");
        Console.WriteLine(ex);
    }
}

return crashes == 0 ? 0 : 1;

/// <summary>One fuzz target: runs one input; an exception that escapes is a finding.</summary>
internal delegate void Target(ReadOnlySpan<byte> input);
