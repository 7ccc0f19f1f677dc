using System.Text;
using AotMilter.Hosting;
using AotMilter.Protocol;
using Microsoft.Extensions.Logging.Abstractions;

namespace AotMilter.Generators.Tests;

/// <summary>What the server does to editors and contexts, through the host interfaces, for tests that call dispatchers directly.</summary>
internal static class HostSide
{
    /// <summary>An editor that allows <paramref name="allowed"/>.</summary>
    public static MessageEditor CreateEditor(ActionFlags allowed)
    {
        var editor = new MessageEditor();
        ((IMessageEditorControl)editor).Configure(allowed, headerLeadingSpace: false, progress: null);
        return editor;
    }

    /// <summary>A context holding the given macros: each entry is a stage letter and its name/value pairs.</summary>
    public static MilterContext CreateContext(params (char Stage, (string Name, string Value)[] Pairs)[] macros)
    {
        var context = new MilterContext(NullLogger.Instance);
        foreach ((char stage, (string Name, string Value)[] pairs) in macros)
        {
            var payload = new StringBuilder().Append(stage);
            foreach ((string name, string value) in pairs)
            {
                payload.Append(name).Append('\0').Append(value).Append('\0');
            }

            context.Macros.Store(MacroReader.Parse(Encoding.UTF8.GetBytes(payload.ToString())));
        }

        return context;
    }

    /// <summary>Fires the context's CallbackAborted, as the connection does at a callback's deadline or a hang-up.</summary>
    public static void AbortCallback(MilterContext context) => ((IMilterContextControl)context).AbortCallback();

    public static ReadOnlySpan<byte> EditFrames(MessageEditor editor) => ((IMessageEditorControl)editor).EditFrames;
}
