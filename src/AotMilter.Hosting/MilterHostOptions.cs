using AotMilter.Server;

namespace AotMilter.Hosting;

/// <summary>What an executable built on <see cref="MilterHost"/> says about itself.</summary>
public sealed class MilterHostOptions
{
    /// <summary>
    /// The program's name in its messages (<c>NAME: error ...</c>, <c>Try 'NAME --help'</c>) and in the command line
    /// <c>--print-config</c> writes. Default: the entry assembly's name, which is the executable's file name.
    /// </summary>
    public string? Name { get; init; }

    /// <summary>The first line of <c>--help</c>.</summary>
    public string Description { get; init; } = "a mail filter (milter) daemon for Postfix and Sendmail, with its filters compiled in.";

    /// <summary>
    /// The filters that run when the command line names none with <c>-f</c>, in order. Default: <c>log</c> when it is
    /// compiled in (the bundled filters), otherwise every filter the executable was given.
    /// </summary>
    public IReadOnlyList<string>? Filters { get; init; }

    internal string[] DefaultFilters(IReadOnlyList<MilterRegistration> available)
    {
        if (Filters is { Count: > 0 })
        {
            return [.. Filters];
        }

        return available.Any(f => f.Name == "log") ? ["log"] : [.. available.Select(f => f.Name)];
    }
}
