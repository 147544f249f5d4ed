import java.time.Duration;
import java.util.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

// A member of a KIP-848 consumer group (group.protocol=consumer): subscribes to a topic, prints
// "assigned N" once it owns partitions, commits what it reads; exits after args[3] ms (default
// 60000) or when killed.
public class Kip848Member {
  public static void main(String[] args) throws Exception {
    Properties p = new Properties();
    p.put("bootstrap.servers", args[0]);
    p.put("group.id", args[1]);
    p.put("group.protocol", "consumer");
    p.put("enable.auto.commit", "false");
    p.put("auto.offset.reset", "earliest");
    p.put("key.deserializer", ByteArrayDeserializer.class.getName());
    p.put("value.deserializer", ByteArrayDeserializer.class.getName());
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p)) {
      consumer.subscribe(List.of(args[2]));
      boolean announced = false;
      long deadline = System.currentTimeMillis() + Long.parseLong(args.length > 3 ? args[3] : "60000");
      while (System.currentTimeMillis() < deadline) {
        ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(200));
        if (!records.isEmpty()) consumer.commitSync();
        if (!announced && !consumer.assignment().isEmpty()) {
          System.out.println("assigned " + consumer.assignment().size());
          System.out.flush();
          announced = true;
        }
      }
    }
  }
}
