package org.attn4j.spark;

import com.google.gson.Gson;
import java.io.Serializable;
import org.attn4j.model.LanguageModel;
import org.attn4j.model.ModelConfig;
import org.attn4j.model.Seq2SeqTransformer;
import org.attn4j.model.TransformerModel;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * What an executor needs to build the same model as the driver: its kind, data type and
 * configuration (as JSON, the form checkpoints use). The weights travel separately, each round.
 */
record ModelSpec(boolean seq2seq, String dataType, String configJson) implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final Gson GSON = new Gson();

    static ModelSpec of(TransformerModel model) {
        return new ModelSpec(model instanceof Seq2SeqTransformer, model.dataType().name(), GSON.toJson(model.config()));
    }

    TransformerModel build() {
        ModelConfig config = GSON.fromJson(configJson, ModelConfig.class);
        DataType type = DataType.valueOf(dataType);
        return seq2seq ? new Seq2SeqTransformer(config, type) : new LanguageModel(config, type);
    }
}
