using AotMilter.Server;

namespace AotMilter.Hosting;

/// <summary>What an executable built on <see cref="MilterHost"/> says about itself.</summary>
public sealed class MilterHostOptions
{
    /// <summary>
    /// The program's name in its messages (<c>NAME: error ...</c>, <c>Try 'NAME --help'</c>) and in the command line
    /// <c>--print-config</c> writes. Default: the entry assembly's name, which is the executable's file name; found by
    /// reflection, which costs a Native AOT binary about half a millisecond of start-up that naming it here saves.
    /// </summary>
    public string? Name { get; init; }

    /// <summary>The first line of <c>--help</c>.</summary>
    public string Description { get; init; } = "a mail filter (milter) daemon for Postfix and Sendmail, with its filters compiled in.";

    /// <summary>
    /// The filters that run when the command line names none with <c>-f</c>, in order. Default: every filter the
    /// executable was given, in their order.
    /// </summary>
    public IReadOnlyList<string>? Filters { get; init; }

    internal string[] DefaultFilters(IReadOnlyList<MilterRegistration> available)
    {
        if (Filters is { Count: > 0 })
        {
            // A mistake of the executable's author, not of the admin: say so at the first run.
            foreach (string name in Filters)
            {
                if (!available.Any(f => f.Name == name))
                {
                    throw new InvalidOperationException($"MilterHostOptions.Filters names '{name}', which is not among the filters given to MilterHost.Run");
                }
            }

            return [.. Filters];
        }

        return [.. available.Select(f => f.Name)];
    }
}
