using System.Text;

namespace AotMilter.Generators;

/// <summary>
/// Builds C# source with four-space indentation. <see cref="WriteLine(string)"/> indents every line of a multi-line
/// string (such as a raw string literal) at the current level; blank lines stay empty.
/// </summary>
internal sealed class SourceWriter
{
    private const int IndentSize = 4;
    private readonly StringBuilder _builder = new();
    private int _indentation;

    public int Indentation
    {
        get => _indentation;
        set
        {
            if (value < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(value));
            }

            _indentation = value;
        }
    }

    public void OpenBlock()
    {
        WriteLine("{");
        Indentation++;
    }

    public void CloseBlock(string suffix = "")
    {
        Indentation--;
        WriteLine("}" + suffix);
    }

    public void WriteLine() => _builder.Append('\n');

    public void WriteLine(string text)
    {
        int start = 0;
        while (start <= text.Length)
        {
            int end = text.IndexOf('\n', start);
            if (end < 0)
            {
                end = text.Length;
            }

            int length = end - start;
            if (length > 0 && text[end - 1] == '\r')
            {
                length--;
            }

            if (length > 0)
            {
                _builder.Append(' ', _indentation * IndentSize);
                _builder.Append(text, start, length);
            }

            _builder.Append('\n');
            start = end + 1;
        }
    }

    public override string ToString() => _builder.ToString();
}
