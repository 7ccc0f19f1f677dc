using System.Runtime.CompilerServices;
using System.Text;
using AotMilter.Protocol;
using Microsoft.Extensions.Logging.Abstractions;

namespace AotMilter.Generators.Tests;

/// <summary>The server builds editors and contexts through internal members; the tests reach them directly.</summary>
internal static class Internals
{
    /// <summary>An editor that allows <paramref name="allowed"/>.</summary>
    public static MessageEditor CreateEditor(ActionFlags allowed)
    {
        MessageEditor editor = CreateEditor();
        Configure(editor, allowed, headerLeadingSpace: false, progress: null);
        return editor;
    }

    /// <summary>A context holding the given macros: each entry is a stage letter and its name/value pairs.</summary>
    public static MilterContext CreateContext(params (char Stage, (string Name, string Value)[] Pairs)[] macros)
    {
        MilterContext context = CreateContext(NullLogger.Instance);
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
    [UnsafeAccessor(UnsafeAccessorKind.Method, Name = "AbortCallback")]
    public static extern void AbortCallback(MilterContext context);

    [UnsafeAccessor(UnsafeAccessorKind.Method, Name = "get_EditFrames")]
    public static extern ReadOnlySpan<byte> EditFrames(MessageEditor editor);

    [UnsafeAccessor(UnsafeAccessorKind.Constructor)]
    private static extern MessageEditor CreateEditor();

    [UnsafeAccessor(UnsafeAccessorKind.Method, Name = "Configure")]
    private static extern void Configure(MessageEditor editor, ActionFlags allowed, bool headerLeadingSpace, IProgressSender? progress);

    [UnsafeAccessor(UnsafeAccessorKind.Constructor)]
    private static extern MilterContext CreateContext(Microsoft.Extensions.Logging.ILogger logger);
}
